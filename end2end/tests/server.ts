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
const simulatorBinary = path.join(root, 'target', 'debug', 'chargeamps-sim');
const siteRoot = path.join(root, 'target', 'site');

export interface Server {
  url: string;
  /** Runs `ampwise ARGS…` (the operator CLI) against this server's database and key. */
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

/** The test servers' licence key (a test value; real keys come from the operator's secrets). */
const LICENCE_KEY = '5a'.repeat(32);
/** The test servers' key for PINs and partner passwords at rest (a test value too). */
const SECRETS_KEY = '6b'.repeat(32);

export function freePort(): Promise<number> {
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

async function waitReady(url: string, child: ChildProcess, log: () => string, probe = '/readyz'): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${url}${probe}`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50)); // poll interval, not a wait for an outcome
  }
  throw new Error(`server not ready after 30 s:\n${log()}`);
}

/** Settings for a test's server beyond the defaults, as environment variables. */
export type ServerEnv = Record<string, string>;

export async function startServer(extraEnv: ServerEnv = {}): Promise<Server> {
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run scripts/test.sh (it builds it)`);
  if (!fs.existsSync(path.join(siteRoot, 'pkg', 'assets.json'))) throw new Error('site not built: run scripts/build-site.sh');
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
    AMPWISE_SECRETS_KEY: SECRETS_KEY,
    // The suite signs up and redeems far more from 127.0.0.1 than a person does.
    AMPWISE_SIGN_UPS_PER_HOUR: '1000000',
    AMPWISE_REDEEMS_PER_HOUR: '1000000',
    RUST_LOG: 'warn',
    ...extraEnv,
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
export function serverForThisFile(env: () => ServerEnv = () => ({})): () => Server {
  let server: Server | undefined;
  test.beforeAll(async () => {
    server = await startServer(env());
  });
  test.afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('server not started yet');
    return server;
  };
}

/** A process of ours (the Charge Amps simulator, the household simulator) and its log. */
export interface Process {
  url: string;
  stop(): Promise<void>;
  log(): string;
}

function spawnLogged(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  let output = '';
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  };
  return { child, stop, log: () => output };
}

/**
 * The Charge Amps cloud simulator on a port of its own, keeping its state in `stateFile` (so a
 * restart on the same port and file is the same Charge Amps).
 */
export async function startChargeAmps(port?: number, stateFile?: string): Promise<Process & { port: number; stateFile: string }> {
  if (!fs.existsSync(simulatorBinary)) throw new Error(`${simulatorBinary} is missing: run scripts/test.sh (it builds it)`);
  port ??= await freePort();
  stateFile ??= path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chargeamps-sim-')), 'state.json');
  const url = `http://127.0.0.1:${port}`;
  const p = spawnLogged(simulatorBinary, ['--addr', `127.0.0.1:${port}`, '--state', stateFile]);
  await waitReady(url, p.child, p.log, '/healthz');
  return { url, port, stateFile, stop: p.stop, log: p.log };
}

/** `ampwise simulate`: a household's meter posting a reading a second, with the chargers' draw. */
export async function startHousehold(server: Server, monitor: number, token: string, chargeAmps: string, serial: string): Promise<Process> {
  const control = await freePort();
  const p = spawnLogged(binary, [
    'simulate', '--url', server.url, '--monitor', String(monitor), '--interval', '1',
    '--control', `127.0.0.1:${control}`, '--charge-amps', chargeAmps, '--serial', serial,
    // A quiet Wednesday morning in the house whatever the hour the tests run (no dinner peak).
    '--house-clock', '2026-12-02T10:00',
  ], { ...process.env, AMPWISE_DEVICE_TOKEN: token });
  const url = `http://127.0.0.1:${control}`;
  await waitReady(url, p.child, p.log, '/extra-load');
  return { url, stop: p.stop, log: p.log };
}
