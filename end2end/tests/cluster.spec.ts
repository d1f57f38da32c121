// Two server processes on one PostgreSQL database, as `scripts/run.sh --cluster` runs three: a
// page served by one shows what the other is told (readings, a reporter turning ACTIVE), and a
// sign-out on one ends the other's live stream within 2 s. Needs a PostgreSQL server:
// AMPWISE_TEST_POSTGRES, which scripts/test.sh sets for its throwaway cluster.
import { APIRequestContext, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { accountMenu, createSite, open, signUp, test, uniqueEmail } from './helpers';
import { Process, Server, startChargeAmps, startHousehold, startServer } from './server';

const postgres = process.env.AMPWISE_TEST_POSTGRES;
test.use({ locale: 'en-GB' });
// Only an ad-hoc run without a PostgreSQL server skips it; scripts/test.sh requires it.
if (!postgres && process.env.AMPWISE_REQUIRE_POSTGRES) throw new Error('AMPWISE_REQUIRE_POSTGRES is set but AMPWISE_TEST_POSTGRES is not');
test.skip(!postgres, 'needs PostgreSQL (AMPWISE_TEST_POSTGRES; scripts/test.sh starts one)');

type Cloud = Awaited<ReturnType<typeof startChargeAmps>>;
let cloud: Cloud;
let a: Server;
let b: Server;
let household: Process | undefined;

/** An empty database of its own on the test's PostgreSQL server. */
function freshDatabase(): string {
  const name = `e2e_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  execFileSync('psql', [postgres!, '-qc', `CREATE DATABASE ${name}`]);
  const url = new URL(postgres!);
  url.pathname = `/${name}`;
  return url.toString();
}

test.beforeAll(async () => {
  cloud = await startChargeAmps();
  const database = freshDatabase();
  const env = (instance: string) => ({
    AMPWISE_DATABASE_URL: database,
    AMPWISE_INSTANCE: instance,
    AMPWISE_CHARGE_AMPS_URL: `${cloud.url}/measurement`,
    AMPWISE_PARTNER_RETRY_MAX_SECS: '2',
  });
  a = await startServer(env('a'));
  b = await startServer(env('b'));
});

test.afterAll(async () => {
  await household?.stop();
  await a?.stop();
  await b?.stop();
  await cloud?.stop();
});

async function call(request: APIRequestContext, base: string, name: string, form: Record<string, string>) {
  const res = await request.post(`${base}/api/${name}`, { form });
  expect(res.status(), `${name}: ${await res.text()}`).toBe(200);
  return res.json();
}

function readings(currents: [number, number, number][]): string {
  const start = Date.now() - currents.length * 1000;
  return JSON.stringify({
    readings: currents.map((current_a, k) => ({ ts: new Date(start + k * 1000).toISOString(), current_a })),
  });
}

test('a page on one process shows what another is told, and a sign-out there ends its stream', async ({ page, context, request }) => {
  test.setTimeout(90_000);
  // Signed up on A: the session is in the database, so B (same host, another port) knows it.
  await signUp(page, a.url, uniqueEmail('cluster'));
  const site = await createSite(page, a.url, { name: 'Villa Kluster', fuse: '20' });
  const device = await call(page.request, a.url, 'create_monitor', {
    'monitor[site_id]': String(site), 'monitor[name]': 'Mains', 'monitor[phases]': '3', 'monitor[kind]': 'http',
  });

  // The site's page from B; the meter posts to A; B's numbers follow.
  await open(page, `${b.url}/sites/${site}`);
  const live = page.getByTestId('live-panel');
  const post = async (currents: [number, number, number][]) => {
    const res = await request.post(`${a.url}/api/v1/monitors/${device.monitor_id}/readings`, {
      headers: { Authorization: `Bearer ${device.token}`, 'Content-Type': 'application/json' },
      data: readings(currents),
    });
    expect(res.status()).toBe(200);
  };
  await expect(live.getByTestId('stream-state')).toHaveAttribute('data-live', 'true');
  await post([[8, 4, 2], [9.5, 4.2, 2.5]]);
  await expect(live.getByTestId('current-l1')).toHaveText('9.5 A', { timeout: 2_000 });
  await expect(live.getByTestId('current-l3')).toHaveText('2.5 A');
  await post([[17.26, 3, 1]]);
  await expect(live.getByTestId('current-l1')).toHaveText('17.3 A', { timeout: 2_000 });

  // A reporter saved on A, its device in Partner, the meter posting to A: B's overview shows
  // it ACTIVE, whichever process forwards it.
  const [code] = a.cli('licences', 'mint').trim().split('\n');
  await call(page.request, a.url, 'redeem_licence', { code });
  const creds = await call(page.request, a.url, 'new_reporter_credentials', {});
  await call(page.request, a.url, 'create_reporter', {
    'reporter[site_id]': String(site), 'reporter[kind]': 'charge_amps', 'reporter[name]': 'Garage',
    'reporter[serial]': creds.serial, 'reporter[main_fuse_a]': '20', 'reporter[monitor_id]': String(device.monitor_id),
  });
  for (const [path, body] of [
    ['/api/devices', { serial: creds.serial, pin: creds.pin }],
    ['/api/load-balancers', { name: 'Villa Kluster', supply_max_current_a: 20, device: creds.serial,
      chargers: [{ name: 'Garage', phases: '3', max_current_a: 16, wants_a: 16 }] }],
  ] as const) {
    const res = await fetch(`${cloud.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
  }
  household = await startHousehold(a, device.monitor_id, device.token, cloud.url, creds.serial);
  await open(page, `${b.url}/`);
  await expect(page.getByTestId('reporter-card').getByTestId('reporter-status')).toHaveText('ACTIVE', { timeout: 20_000 });

  // Back on B's site page, live; signed out on A in another tab: B's stream ends within 2 s.
  await open(page, `${b.url}/sites/${site}`);
  await expect(live.getByTestId('stream-state')).toHaveAttribute('data-live', 'true');
  const other = await context.newPage();
  await open(other, `${a.url}/`);
  await accountMenu(other);
  await other.getByRole('button', { name: 'Log out' }).click();
  await expect(other).toHaveURL(/\/login/);
  await expect(live.getByTestId('stream-state')).toHaveAttribute('data-live', 'false', { timeout: 2_000 });
});
