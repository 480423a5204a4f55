/**
 * GET /docs renders in a real browser: headless Chromium (Debian package `chromium`)
 * loads the page, Swagger UI (served locally, no CDN) fetches /openapi.json and draws one
 * operation block per documented operation. Skipped, with a message, only when
 * /usr/bin/chromium is absent (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startTestServer } from './helpers/server';

const CHROMIUM = '/usr/bin/chromium';
const missing = !fs.existsSync(CHROMIUM);
/** Virtual time lets the page's scripts and fetches finish before the DOM is dumped. */
const VIRTUAL_TIME_MS = 10_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chromium(args: string[], userDataDir: string): Promise<string> {
  const base = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${userDataDir}`, `--virtual-time-budget=${VIRTUAL_TIME_MS}`,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, [...base, ...args], { timeout: 45_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

t.test('/docs renders the API in headless Chromium', { skip: missing ? `${CHROMIUM} is absent (apt-get install chromium)` : false }, async (t) => {
  const s = await startTestServer(t);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-docs-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const doc = (await s.get('/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).filter((k) => /^(get|post|put|patch|delete)$/.test(k)).length, 0);

  await t.test('the rendered DOM holds every operation, /predict included', async (t) => {
    const dom = await chromium(['--dump-dom', `${s.base}/docs`], path.join(tmp, 'profile-dom'));
    t.match(dom, /<div id="swagger-ui">/, 'the page was served');
    t.notMatch(dom, /Failed to load API definition/, 'Swagger UI loaded /openapi.json');
    t.match(dom, /class="title">OpenSesame Predictor/, 'the document title is rendered');
    // Swagger UI ids an operation block "operations-<tag>-<operationId>".
    const start = dom.indexOf('id="operations-predict-predict"');
    t.ok(start > 0, 'the POST /predict operation block is rendered');
    const block = dom.slice(start, dom.indexOf('id="operations-', start + 10));
    t.match(block, /data-path="\/predict"/, 'its summary shows the /predict path');
    t.match(dom.slice(dom.lastIndexOf('<div', start), start), /opblock-post/, 'as a POST block');
    const blocks = dom.match(/class="opblock opblock-(?:get|post|put|patch|delete)\b/g) ?? [];
    t.equal(blocks.length, operations, 'one block per documented operation');
  });

  await t.test('a screenshot of the page is a non-empty PNG', async (t) => {
    const file = path.join(tmp, 'docs.png');
    await chromium(['--window-size=1280,1600', `--screenshot=${file}`, `${s.base}/docs`], path.join(tmp, 'profile-shot'));
    const png = fs.readFileSync(file);
    t.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
    // IHDR: width and height are the first two big-endian words after the chunk header.
    t.equal(png.readUInt32BE(16), 1280, 'width');
    t.equal(png.readUInt32BE(20), 1600, 'height');
    // A blank 1280x1600 page compresses to a few kB; the rendered docs are far larger.
    t.ok(png.length > 20_000, `the page has content (${png.length} bytes)`);
  });
});
