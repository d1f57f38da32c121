// Starts the real server binary on a free port with a database of its own, and waits on its
// readiness endpoint (never a fixed sleep).
import { test } from '@playwright/test';
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const binary = process.env.AMPWISE_BIN ?? path.join(root, 'target', 'debug', 'ampwise');
const siteRoot = path.join(root, 'target', 'site');

export interface Server {
  url: string;
  /** Runs `ampwise ARGS…` (the operator CLI) against this server's database and key. */
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

/** The test servers' licence key (a test value; real keys come from the operator's secrets). */
const LICENCE_KEY = '5a'.repeat(32);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50)); // poll interval, not a wait for an outcome
  }
  throw new Error(`server not ready after 30 s:\n${log()}`);
}

export async function startServer(): Promise<Server> {
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run scripts/test.sh (it builds it)`);
  if (!fs.existsSync(path.join(siteRoot, 'pkg', 'ampwise_bg.wasm'))) throw new Error('site not built: run scripts/build-site.sh');
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ampwise-e2e-'));
  let output = '';
  const env = {
    ...process.env,
    AMPWISE_ADDR: `127.0.0.1:${port}`,
    AMPWISE_DATABASE_URL: `sqlite://${path.join(dataDir, 'ampwise.db')}`,
    AMPWISE_SITE_ROOT: siteRoot,
    AMPWISE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    AMPWISE_LICENCE_KEY: LICENCE_KEY,
    RUST_LOG: 'warn',
  };
  const child = spawn(binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, () => output);
  return {
    url,
    cli: (...args: string[]) => execFileSync(binary, args, { env, encoding: 'utf8' }),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A server for the calling spec file: started before its first test, stopped after its last. */
export function serverForThisFile(): () => Server {
  let server: Server | undefined;
  test.beforeAll(async () => {
    server = await startServer();
  });
  test.afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('server not started yet');
    return server;
  };
}
