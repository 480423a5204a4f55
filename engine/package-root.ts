import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/**
 * The directory holding the project's package.json. Works the same from TypeScript
 * sources (ts-node: engine/) and from the build (dist/engine/), so models/ and specs/
 * are found from either.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'opensesame-predictor') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package root (opensesame-predictor package.json) not found above ' + __dirname);
    dir = up;
  }
}
