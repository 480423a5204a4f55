/**
 * Starts a real server on 127.0.0.1:0 with a fresh LMDB dir for a test, and tears both
 * down with t.teardown. Workers run the compiled pipeline (npm test builds first).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type Config } from '../../server/config';
import { startServer, type RunningServer } from '../../server/app';
import type { Logger } from '../../server/logger';

export interface TestServer {
  server: RunningServer;
  base: string;
  dataDir: string;
  post(route: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers }>;
  get(route: string, headers?: Record<string, string>): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  raw(route: string, init: RequestInit): Promise<Response>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startTestServer(t: Teardown, overrides: Partial<Config> = {}, env: Record<string, string> = {}, opts: { allowCrashTask?: boolean; keepDataDir?: string; logger?: Logger } = {}): Promise<TestServer> {
  const dataDir = opts.keepDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-test-'));
  const config = resolveConfig(
    { OPENSESAME_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env },
    { host: '127.0.0.1', port: 0, dataDir, poolSize: 1, rateLimitRpm: 0, ...overrides },
  );
  const server = await startServer(config, { allowCrashTask: opts.allowCrashTask, logger: opts.logger });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await server.close();
    closed = true;
    if (!opts.keepDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    server,
    base,
    dataDir,
    async post(route, body, headers = {}) {
      const res = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async get(route, headers = {}) {
      const res = await fetch(base + route, { headers });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text, headers: res.headers };
    },
    raw(route, init) {
      return fetch(base + route, init);
    },
  };
}
