// Adaptive charging from the Overview's Charge Amps card, against the Charge Amps simulator:
// optiCharge on real (recorded) spot prices, walked through a night with the test clock, and a
// Simple schedule across the night clocks go forward. Swedish and English.
import { APIRequestContext, expect, Page } from '@playwright/test';
import { open, signUp, test, uniqueEmail } from './helpers';
import { Process, Server, startChargeAmps, startHousehold, startServer } from './server';

type Cloud = Awaited<ReturnType<typeof startChargeAmps>>;
let cloud: Cloud;
let server: Server;
const households: Process[] = [];

test.beforeAll(async () => {
  cloud = await startChargeAmps();
  server = await startServer({
    AMPWISE_CHARGE_AMPS_URL: `${cloud.url}/measurement`,
    AMPWISE_PARTNER_RETRY_MAX_SECS: '2',
    AMPWISE_PRICE_SOURCE: 'recorded',
    AMPWISE_EUR_SEK: '11.5',
    AMPWISE_TEST_CLOCK: 'true',
  });
});

test.afterAll(async () => {
  for (const h of households) await h.stop();
  await server?.stop();
  await cloud?.stop();
});

async function setClock(now: string) {
  const res = await fetch(`${server.url}/api/test/clock`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ now }),
  });
  expect(res.status).toBe(204);
}

async function call(request: APIRequestContext, name: string, form: Record<string, string>) {
  const res = await request.post(`${server.url}/api/${name}`, { form });
  expect(res.status(), `${name}: ${await res.text()}`).toBe(200);
  return res.json();
}

interface Charger { allowed_a: number; drawing_a: number }
async function simulator(serial: string): Promise<{ permission: string | null; charger: Charger }> {
  const state = await (await fetch(`${cloud.url}/api/state?device=${serial}`)).json();
  return { permission: state.devices[0].permission, charger: state.load_balancers[0].chargers[0] };
}

/** A household with a monitor fed by the household simulator and a Charge Amps reporter whose
 * measurement device, load balancer and charger are in the simulator. */
async function household(page: Page, siteName: string): Promise<{ reporter: number; serial: string }> {
  const base = server.url;
  await signUp(page, base, uniqueEmail('home'));
  const site: number = await call(page.request, 'create_site', {
    'site[name]': siteName, 'site[address]': '', 'site[time_zone]': 'Europe/Stockholm',
    'site[price_area]': 'SE3', 'site[main_fuse_a]': '25',
  });
  const device = await call(page.request, 'create_monitor', {
    'monitor[site_id]': String(site), 'monitor[name]': 'Mains', 'monitor[phases]': '3', 'monitor[kind]': 'http',
  });
  const [code] = server.cli('licences', 'mint').trim().split('\n');
  await call(page.request, 'redeem_licence', { code });
  const creds = await call(page.request, 'new_reporter_credentials', {});
  const reporter: number = await call(page.request, 'create_reporter', {
    'reporter[site_id]': String(site), 'reporter[kind]': 'charge_amps', 'reporter[name]': 'Garage',
    'reporter[serial]': creds.serial, 'reporter[main_fuse_a]': '25', 'reporter[monitor_id]': String(device.monitor_id),
  });
  for (const [path, body] of [
    ['/api/devices', { serial: creds.serial, pin: creds.pin }],
    ['/api/load-balancers', { name: siteName, supply_max_current_a: 25, device: creds.serial,
      chargers: [{ name: 'Garage', phases: '3', max_current_a: 16, wants_a: 16 }] }],
  ] as const) {
    const res = await fetch(`${cloud.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
  }
  households.push(await startHousehold(server, device.monitor_id, device.token, cloud.url, creds.serial));
  return { reporter, serial: creds.serial };
}

test('optiCharge for 4 hours before 07:00 follows the cheapest slots', async ({ page }) => {
  test.setTimeout(120_000);
  // A Tuesday evening; the recorded prices for tomorrow were "published" at 13:00.
  await setClock('2026-12-01T20:00:00+01:00');
  const { reporter, serial } = await household(page, 'Villa Opti');
  await open(page, `${server.url}/`);
  const card = page.getByTestId('reporter-card');
  await expect(card.getByTestId('reporter-status')).toHaveText('ACTIVE');
  await expect(card.getByTestId('charging-now')).toContainText('Fuse protection only');

  await card.getByRole('radio', { name: 'optiCharge' }).check();
  await card.getByLabel('Ready by').fill('07:00');
  // Switching hours and kWh clears the amount: 4 hours are not 4 kWh.
  await card.getByRole('radio', { name: 'kWh' }).check();
  await card.getByRole('textbox', { name: 'kWh', exact: true }).fill('30');
  await card.getByRole('radio', { name: 'Hours' }).check();
  await expect(card.getByRole('textbox', { name: 'Hours', exact: true })).toHaveValue('');
  await card.getByRole('textbox', { name: 'Hours' }).fill('4');
  await card.getByLabel('Charger power (kW)').fill('11');
  await card.getByRole('button', { name: 'Plan charging' }).click();

  // The chart marks 16 quarters, and the saving is said beside the cost.
  const chart = card.getByTestId('plan-chart');
  await expect(chart).toHaveAttribute('data-chosen', '16');
  await expect(card.getByTestId('saving')).toContainText('SEK');
  // A chart one can read: a price axis with its unit, a legend, the planned slots marked.
  await expect(chart.locator('text.unit')).toHaveText('SEK/kWh');
  await expect(chart.locator('.grid text').first()).toBeVisible();
  await expect(card.getByTestId('plan-legend')).toHaveText(/Price.*Planned charging.*Now/s);
  expect(await chart.locator('rect.planned-strip').count()).toBeGreaterThan(0);
  const view = await call(page.request, 'reporter_charging', { id: String(reporter) });
  const slots: { start_ms: number; end_ms: number }[] = view.plan.slots;
  expect(slots).toHaveLength(16);
  expect(view.plan.saving).toBeGreaterThanOrEqual(0);
  expect(view.plan.cost).toBeLessThanOrEqual(view.plan.cost_if_now);
  const first = slots[0];
  const hm = (ms: number) => new Date(ms).toLocaleTimeString('sv-SE', { timeZone: 'Europe/Stockholm', hour: '2-digit', minute: '2-digit' });
  await expect(card.getByTestId('charging-now')).toHaveText(`Waiting for ${hm(first.start_ms)}`);
  // Outside the plan the chargers are held.
  await expect.poll(async () => (await simulator(serial)).permission, { timeout: 15_000 }).toBe('paused');
  await expect.poll(async () => (await simulator(serial)).charger.allowed_a).toBe(0);

  // Into a chosen slot: allowed, and the car draws.
  await setClock(new Date(first.start_ms + 60_000).toISOString());
  await expect.poll(async () => (await simulator(serial)).permission, { timeout: 15_000 }).toBe('allowed');
  await expect.poll(async () => (await simulator(serial)).charger.drawing_a, { timeout: 15_000 }).toBeGreaterThan(0);
  await open(page, `${server.url}/`);
  await expect(card.getByTestId('charging-now')).toContainText('Charging allowed until');

  // Out of the plan again: paused.
  const last = slots[slots.length - 1];
  await setClock(new Date(last.end_ms + 60_000).toISOString());
  await expect.poll(async () => (await simulator(serial)).permission, { timeout: 15_000 }).toBe('paused');
  await expect.poll(async () => (await simulator(serial)).charger.allowed_a).toBe(0);
});

test.describe('in Swedish', () => {
  test.use({ locale: 'sv-SE' });

  test('a Simple schedule across the night clocks go forward', async ({ page }) => {
    test.setTimeout(120_000);
    // Saturday 27 March 2027; that night Stockholm goes from 02:00 to 03:00.
    await setClock('2027-03-27T22:30:00+01:00');
    const { serial } = await household(page, 'Villa Schema');
    await open(page, `${server.url}/`);
    const card = page.getByTestId('reporter-card');
    await card.getByRole('radio', { name: 'Enkelt schema' }).check();
    const window = card.getByTestId('window');
    await expect(window).toHaveCount(1);
    await window.getByLabel('Från').fill('23:00');
    await window.getByLabel('Till').fill('05:00');
    await card.getByRole('button', { name: 'Spara schema' }).click();
    await expect(card.getByTestId('charging-now')).toHaveText('Väntar till 23:00');
    await expect.poll(async () => (await simulator(serial)).permission, { timeout: 15_000 }).toBe('paused');

    // 03:30 summer time: six hours of window became five, and it still ends at 05:00.
    await setClock('2027-03-28T03:30:00+02:00');
    await expect.poll(async () => (await simulator(serial)).permission, { timeout: 15_000 }).toBe('allowed');
    await open(page, `${server.url}/`);
    await expect(card.getByTestId('charging-now')).toHaveText('Laddning tillåten till 05:00');
    await setClock('2027-03-28T05:00:00+02:00');
    await expect.poll(async () => (await simulator(serial)).permission, { timeout: 15_000 }).toBe('paused');
  });
});
