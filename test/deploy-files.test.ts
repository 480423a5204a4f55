/**
 * The container and deployment files parse and agree with each other and with the
 * service: Dockerfile (multi-stage, slim non-root runtime, production dependencies only,
 * a HEALTHCHECK that really works), docker-compose.yml, deploy/nginx.conf, deploy/k8s.yaml.
 * No Docker engine or cluster is needed; the health-check commands run against a real server.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { SERVER_ENV, SERVER_NODE_FLAGS, SERVER_SCRIPT, startScript } from '../server/runtime-settings';
import { startTestServer } from './helpers/server';

const root = path.join(__dirname, '..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  steps: Instruction[];
}

/** Dockerfile -> stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)!;
      stages.push({ from: f[1]!, name: f[2], steps: [] });
    } else {
      stages[stages.length - 1]!.steps.push({ op, args });
    }
  }
  return stages;
}

function lastIndex<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i]!)) return i;
  return -1;
}

/** Runs an exec-form health check with the port rewritten; resolves with the exit code. */
function runCheck(argv: string[], port: number): Promise<number> {
  const [cmd, ...args] = argv.map((a) => a.replace(':8000/', `:${port}/`));
  return new Promise((resolve) => {
    execFile(cmd === 'node' ? process.execPath : cmd!, args, { timeout: 15_000 }, (err) => resolve(err ? (typeof err.code === 'number' ? err.code : -1) : 0));
  });
}

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages[stages.length - 1]!;
const compose = YAML.parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, any>; volumes?: Record<string, unknown> };
const k8s = YAML.parseAllDocuments(read('deploy/k8s.yaml')).map((d) => d.toJS() as any);
const nginx = read('deploy/nginx.conf');

t.test('Dockerfile: multi-stage build, slim non-root runtime', async (t) => {
  t.ok(stages.length >= 2, 'multi-stage');
  t.equal(stages[0]!.from, 'node:20-bookworm', 'build stage on the full image');
  t.equal(runtime.from, 'node:20-bookworm-slim', 'runtime on the slim image');
  const run = (s: Stage) => s.steps.filter((i) => i.op === 'RUN').map((i) => i.args);
  t.ok(run(stages[0]!).some((a) => /npm ci\b/.test(a)), 'npm ci');
  t.ok(run(stages[0]!).some((a) => /npm run build\b/.test(a)), 'npm run build');
  t.notOk(run(runtime).some((a) => /npm (ci|install)\b/.test(a)), 'nothing is installed in the runtime stage');

  const user = runtime.steps.filter((i) => i.op === 'USER').pop();
  t.ok(user && !/^(root|0)(:|$)/.test(user.args), `runs as a non-root user (${user?.args})`);
  t.equal(runtime.steps.find((i) => i.op === 'WORKDIR')?.args, '/app');
  t.equal(runtime.steps.find((i) => i.op === 'EXPOSE')?.args, '8000');
  t.match(runtime.steps.find((i) => i.op === 'VOLUME')?.args, /^\/data$|\["\/data"\]/);
  t.match(runtime.steps.filter((i) => i.op === 'ENV').map((i) => i.args).join(' '), /OPENSESAME_DATA_DIR=\/data\b/);
  t.same(JSON.parse(runtime.steps.find((i) => i.op === 'CMD')!.args), ['node', ...SERVER_NODE_FLAGS, SERVER_SCRIPT], 'CMD starts the server as npm start does');
  const hc = runtime.steps.find((i) => i.op === 'HEALTHCHECK');
  t.ok(hc, 'HEALTHCHECK');
  t.match(hc?.args, /\/health/);
});

t.test('the server starts with the same flags and environment everywhere (server/runtime-settings.ts)', async (t) => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  t.equal(pkg.scripts.start, startScript(), 'npm start');
  const env = runtime.steps.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
  for (const [k, v] of Object.entries(SERVER_ENV)) t.match(env, new RegExp(`(^|\\s)${k}=${v}(\\s|$)`), `Dockerfile ENV ${k}=${v}`);
  // Nothing else starts the server with its own command line.
  t.notOk(compose.services.predictor.command, 'compose uses the image CMD');
  for (const doc of k8s.filter((d) => d?.kind === 'Deployment')) {
    for (const c of doc.spec.template.spec.containers) t.notOk(c.command ?? c.args, `k8s container ${c.name} uses the image CMD`);
  }
  // The flags are real ones node accepts (node refuses an unknown option before running anything).
  const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [...SERVER_NODE_FLAGS, '-e', 'process.stdout.write("up")'], { env: { ...process.env, ...SERVER_ENV } }, (err, stdout) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout }),
    );
  });
  t.same(out, { code: 0, stdout: 'up' }, `node ${SERVER_NODE_FLAGS.join(' ')} runs`);
});

t.test('Dockerfile: the runtime gets only production files', async (t) => {
  const copies = runtime.steps.filter((i) => i.op === 'COPY' || i.op === 'ADD');
  t.ok(copies.every((c) => /--from=/.test(c.args)), 'everything comes from the build stage, nothing from the context');
  const sources = copies.map((c) => c.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1)).flat();
  const allowed = /^\/src\/(package\.json|node_modules|dist|core-wasm\/build\/\*\.wasm|models|specs)$/;
  for (const src of sources) t.match(src, allowed, `${src} is a runtime file`);
  for (const need of ['package.json', 'node_modules', 'dist', 'core-wasm/build/*.wasm', 'models', 'specs']) {
    t.ok(sources.includes(`/src/${need}`), `${need} is copied`);
  }
  // node_modules is copied from the build stage after its dev dependencies were dropped.
  const buildRuns = stages[0]!.steps.filter((i) => i.op === 'RUN').map((i) => i.args);
  const lastCi = lastIndex(buildRuns, (a) => /npm ci\b/.test(a) && !/--omit=dev/.test(a));
  const prune = lastIndex(buildRuns, (a) => /npm prune\b.*--omit=dev|npm ci\b.*--omit=dev/.test(a));
  const build = lastIndex(buildRuns, (a) => /npm run build\b/.test(a));
  t.ok(prune > lastCi && prune > build, 'dev dependencies are pruned after the build');
  for (const f of ['package.json', 'models', 'specs']) t.ok(fs.existsSync(path.join(root, f)), `${f} exists in the repo`);
});

t.test('.dockerignore keeps local state and build output out of the context', async (t) => {
  const lines = new Set(read('.dockerignore').split(/\r?\n/).map((l) => l.trim()));
  for (const p of ['node_modules', 'dist', 'data', '.git', 'test']) t.ok(lines.has(p), p);
  t.ok([...lines].some((l) => /\*\.log$/.test(l)), '*.log');
});

t.test('docker-compose.yml: one instance, and 3 replicas behind nginx', async (t) => {
  const svc = compose.services.predictor;
  t.equal(svc.build, '.');
  t.ok(svc.ports.includes('8000:8000'), 'port 8000');
  t.ok(svc.volumes.some((v: string) => v.endsWith(':/data')), '/data volume');
  for (const key of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY']) t.match(svc.environment[key], new RegExp(`^\\$\\{${key}`), `${key} passed through`);
  t.match(svc.healthcheck.test.join(' '), /\/health/);

  const replicas = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('replicas') && s.build === '.');
  t.equal(replicas.length, 3, 'three replica services in the replicas profile');
  const dataVolumes = replicas.map(([, s]) => s.volumes.find((v: string) => v.endsWith(':/data')));
  t.equal(new Set(dataVolumes).size, 3, 'each replica has its own LMDB volume');
  const lb = compose.services.nginx;
  t.ok(lb.profiles.includes('replicas'), 'nginx is in the replicas profile');
  t.ok(lb.volumes.some((v: string) => v.startsWith('./deploy/nginx.conf:')), 'mounts deploy/nginx.conf');
  for (const [name] of replicas) {
    t.ok(lb.depends_on[name], `nginx waits for ${name}`);
    t.match(nginx, new RegExp(`server ${name}:8000\\b`), `nginx upstream lists ${name}:8000`);
  }
  for (const [, s] of Object.entries(compose.services)) {
    for (const v of (s.volumes ?? []) as string[]) {
      const name = v.split(':')[0]!;
      if (!name.startsWith('.') && !name.startsWith('/')) t.ok(compose.volumes && name in compose.volumes, `volume ${name} is declared`);
    }
  }
});

t.test('deploy/nginx.conf: upstream, WebSocket upgrade, /health', async (t) => {
  const code = nginx.replace(/#.*$/gm, '');
  t.equal((code.match(/\{/g) ?? []).length, (code.match(/\}/g) ?? []).length, 'braces balance');
  t.match(code, /upstream predictor \{[^}]*server [^}]*\}/, 'an upstream block');
  const ws = /location = \/ws \{([^}]*)\}/.exec(code)?.[1] ?? '';
  t.match(ws, /proxy_set_header Upgrade \$http_upgrade;/, '/ws forwards Upgrade');
  t.match(ws, /proxy_set_header Connection \$connection_upgrade;/, '/ws forwards Connection: upgrade');
  t.match(code, /proxy_http_version 1\.1;/, 'HTTP/1.1 to the upstream (keep-alive, upgrade)');
  t.match(code, /location = \/health \{[^}]*proxy_pass http:\/\/predictor;/, '/health is proxied');
});

t.test('deploy/k8s.yaml: Deployment and Service', async (t) => {
  const dep = k8s.find((d) => d.kind === 'Deployment');
  const svc = k8s.find((d) => d.kind === 'Service');
  t.ok(dep && svc, 'both documents');
  t.equal(dep.spec.replicas, 3);
  t.same(dep.spec.selector.matchLabels, dep.spec.template.metadata.labels, 'selector matches the pod labels');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  const port = c.ports.find((p: { containerPort: number }) => p.containerPort === 8000);
  t.ok(port, 'container port 8000');
  for (const probe of ['readinessProbe', 'livenessProbe']) {
    t.equal(c[probe]?.httpGet?.path, '/health', `${probe} on /health`);
    t.ok([8000, port?.name].includes(c[probe]?.httpGet?.port), `${probe} on the service port`);
  }
  t.match(c.resources, { requests: { cpu: String, memory: String }, limits: { cpu: String, memory: String } });
  const env = new Map(c.env.map((e: { name: string }) => [e.name, e]));
  for (const key of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY']) t.ok((env.get(key) as any)?.valueFrom?.secretKeyRef?.name, `${key} from a Secret`);
  t.equal((env.get('OPENSESAME_DATA_DIR') as any)?.value, '/data');
  const mount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/data');
  const vol = pod.volumes.find((v: { name: string }) => v.name === mount?.name);
  t.ok(vol && (vol.emptyDir || vol.persistentVolumeClaim), '/data is an emptyDir or a PVC');
  t.ok(pod.securityContext?.runAsNonRoot, 'runs as non-root');

  t.equal(svc.spec.type, 'ClusterIP');
  t.same(svc.spec.selector, dep.spec.template.metadata.labels, 'the Service selects the pods');
  const sp = svc.spec.ports[0];
  t.equal(sp.port, 80);
  t.ok(sp.targetPort === 8000 || sp.targetPort === port?.name, 'targets 8000');
});

t.test('the health checks of the Dockerfile and compose work against a real server', async (t) => {
  const s = await startTestServer(t);
  const hc = runtime.steps.find((i) => i.op === 'HEALTHCHECK')!.args;
  const dockerCmd = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[];
  const composeCmd = (compose.services.predictor.healthcheck.test as string[]).slice(1);
  t.equal(await runCheck(dockerCmd, s.server.port), 0, 'Dockerfile HEALTHCHECK passes on a healthy server');
  t.equal(await runCheck(composeCmd, s.server.port), 0, 'compose healthcheck passes on a healthy server');
  await s.server.close();
  t.equal(await runCheck(dockerCmd, s.server.port), 1, 'and fails once it is down');
});
