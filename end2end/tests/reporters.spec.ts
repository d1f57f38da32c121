// The integration guide end to end (DESIGN.md, "The user's journey", steps 3–5): a licence, the
// reporter wizard, Charge Amps Partner (the simulator, over HTTP), ACTIVE, the load balancer
// holding the chargers under the main fuse as the household's load rises, and what the
// installer sees when things go wrong.
import { expect, Page } from '@playwright/test';
import { createSite, loadsPage, open, signUp, test, uniqueEmail } from './helpers';
import { Process, Server, startChargeAmps, startHousehold, startServer } from './server';

type Cloud = Awaited<ReturnType<typeof startChargeAmps>>;
let cloud: Cloud;
let server: Server;
let household: Process | undefined;

test.beforeAll(async () => {
  cloud = await startChargeAmps();
  server = await startServer({
    AMPWISE_CHARGE_AMPS_URL: `${cloud.url}/measurement`,
    // The simulator's Open Reporter partner is on loopback and plain http, which no user's URL
    // may reach unless the operator allows it.
    AMPWISE_PARTNER_ALLOW: new URL(cloud.url).host,
    // A partner that comes back is found again within two seconds.
    AMPWISE_PARTNER_RETRY_MAX_SECS: '2',
  });
});

test.afterAll(async () => {
  await household?.stop();
  await server?.stop();
  await cloud?.stop();
});

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

const clipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());

interface SimState {
  devices: { serial: string; active: boolean; refused_logins: number; current_a: (number | null)[] | null }[];
  load_balancers: { household_a: (number | null)[] | null; chargers: { name: string; allowed_a: number; drawing_a: number }[] }[];
}

async function simState(device: string): Promise<SimState> {
  return (await fetch(`${cloud.url}/api/state?device=${device}`)).json();
}

/** The installer registers a monitor on the site and gets its device token. */
async function addMonitor(page: Page): Promise<{ monitor: number; token: string }> {
  await open(page, `${server.url}/settings/monitors`);
  await page.getByLabel('Name').fill('Mains meter');
  await page.getByRole('button', { name: 'Add monitor' }).click();
  const token = (await page.getByTestId('device-token').textContent())!.trim();
  const monitor = Number((await page.getByTestId('token-panel').textContent())!.match(/Monitor id: (\d+)/)![1]);
  return { monitor, token };
}

test('the integration guide: licence, wizard, Partner, ACTIVE, balancing, and recovery', async ({ page, browser }) => {
  test.setTimeout(150_000);
  const base = server.url;
  // The household's own account: the installer sets the site up for it.
  const anna = uniqueEmail('anna');
  const annaContext = await browser.newContext();
  const annaPage = await annaContext.newPage();
  await signUp(annaPage, base, anna);

  await signUp(page, base, uniqueEmail('ivan'), 'installer');
  const siteId = await createSite(page, base, { name: 'Villa Ek', fuse: '20', customer: anna });
  // The household is invited to take the site over; the installer sets it up meanwhile.
  await open(page, `${base}/settings/sites/${siteId}`);
  await expect(page.getByTestId('invited')).toContainText(`Waiting for ${anna} to accept`);
  const { monitor, token } = await addMonitor(page);

  // 2. The licence from the box.
  const [code] = server.cli('licences', 'mint').trim().split('\n');
  await open(page, `${base}/settings/licences`);
  await page.getByLabel('License code').fill(code);
  await page.getByRole('button', { name: 'Redeem' }).click();
  await expect(page.getByRole('status')).toContainText('License redeemed');

  // 3. The wizard, step by step; each step is checked before the next.
  await open(page, `${base}/settings/reporters`);
  await expect(page.getByText('No reporters yet')).toBeVisible();
  // The wizard is a bundle of its own (app/src/bundle.rs): the link loads it.
  await loadsPage(page, () => page.getByRole('link', { name: 'Add new Reporter' }).first().click());
  const step = page.getByTestId('wizard-step');
  const next = page.getByRole('button', { name: 'Next' });
  await expect(step).toHaveText('Step 1 of 6: Type');
  await next.click();
  await expect(page.getByTestId('form-error')).toHaveText('Choose a type of reporter.');
  await page.getByRole('radio', { name: /Charge Amps Charge Control/ }).check();
  await next.click();
  await expect(step).toHaveText('Step 2 of 6: Name');
  await expect(page.getByLabel('Name')).toHaveValue('Charge Amps charge control');
  await next.click();
  await expect(step).toHaveText('Step 3 of 6: Serial number and PIN');
  await next.click();
  await expect(page.getByTestId('form-error')).toHaveText('Get a serial number and PIN first.');
  await page.getByRole('button', { name: 'Get Serial Number and PIN' }).click();
  const serial = (await page.getByTestId('serial').textContent())!.trim();
  const pin = (await page.getByTestId('pin').textContent())!.trim();
  expect(serial).toMatch(/^AMPW-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/);
  expect(pin).toMatch(/^\d{8}$/);
  await expect(page.getByTestId('credentials')).toContainText('Measurement Device');
  await page.getByRole('button', { name: 'Copy serial number' }).click();
  await expect(page.getByRole('button', { name: 'Copy serial number' })).toHaveText('Copied');
  expect(await clipboard(page)).toBe(serial);
  // Back and forth keeps what was entered.
  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByLabel('Name').fill('Garage charge control');
  await next.click();
  await expect(page.getByTestId('serial')).toHaveText(serial);
  await next.click();
  await expect(step).toHaveText('Step 4 of 6: Main fuse');
  await expect(page.getByRole('radio', { name: '20 A' })).toBeChecked();
  await page.getByRole('radio', { name: 'Other' }).check();
  await page.getByLabel('Main fuse, amperes (6–250)').fill('300');
  await next.click();
  await expect(page.getByTestId('form-error')).toHaveText('Enter the main fuse as a whole number of amperes, 6 to 250.');
  await page.getByRole('radio', { name: '20 A' }).check();
  await next.click();
  await expect(step).toHaveText('Step 5 of 6: Monitor');
  await expect(page.getByRole('radio', { name: /Mains meter/ })).toBeChecked();
  await next.click();
  await expect(step).toHaveText('Step 6 of 6: Save');
  await expect(page.getByTestId('summary')).toContainText(serial);
  await expect(page.getByTestId('summary')).toContainText('Garage charge control');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/settings\/reporters\/\d+\?created=1$/);
  await expect(page.getByTestId('reporter-name')).toHaveText('Garage charge control');
  await expect(page.getByTestId('serial')).toHaveText(serial);
  await expect(page.getByTestId('pin')).toHaveText(pin);

  // The meter reports; Charge Amps does not know the serial yet.
  household = await startHousehold(server, monitor, token, cloud.url, serial);
  const status = page.getByTestId('reporter-status');
  await expect(status).toHaveText('Not accepted by Charge Amps');
  await expect(page.getByTestId('reporter-status-detail')).toContainText('Charge Amps Partner');
  await expect(page.getByTestId('created-banner')).toContainText('Now enter the serial number and PIN in Charge Amps Partner');

  // 4. Charge Amps Partner: the measurement device (with a mistyped PIN), a load balancer at
  // the main fuse, and a charger.
  const partner = await page.context().newPage();
  await partner.goto(cloud.url);
  await partner.getByLabel('Serial number').fill(await clipboard(page));
  const typo = pin.slice(0, 7) + (pin[7] === '0' ? '1' : '0');
  await partner.getByLabel('PIN', { exact: true }).fill(typo);
  await partner.getByRole('button', { name: 'Create measurement device' }).click();
  await expect(partner.getByTestId('device')).toContainText(serial);
  await partner.getByLabel('Name', { exact: true }).fill('Villa Ek');
  await partner.getByLabel('Supply max current (A)').fill('20');
  await partner.getByLabel('Measurement device').selectOption(serial);
  await partner.getByRole('button', { name: 'Create load balancer' }).click();
  await partner.getByLabel('Charger name').fill('Garage');
  await partner.locator('select[name="model"]').selectOption({ label: 'Halo 3-phase 16 A' });
  await partner.getByLabel('Car wants (A)', { exact: true }).fill('16');
  await partner.getByRole('button', { name: 'Add charger' }).click();
  await expect(partner.getByTestId('charger')).toContainText('Garage');

  // A wrong PIN: Charge Amps refuses it, and both sides say so (not "not entered yet").
  await expect.poll(async () => (await simState(serial)).devices[0].refused_logins, { timeout: 15_000 }).toBeGreaterThan(1);
  await expect(status).toHaveText('Not accepted by Charge Amps');
  await expect(page.getByTestId('reporter-status-detail')).toContainText(/Charge Amps refused the serial number and PIN \d+ times, last at/);
  await expect(partner.getByTestId('device-status')).toHaveText('wrong PIN');

  // The PIN copied from Ampwise: ACTIVE on both sides.
  await page.getByRole('button', { name: 'Copy PIN' }).click();
  await partner.getByLabel('New PIN').fill(await clipboard(page));
  await partner.getByRole('button', { name: 'Change PIN' }).click();
  await expect(status).toHaveText('ACTIVE');
  await expect(page.getByTestId('reporter-status-detail')).toContainText('Last update accepted');
  // The after-Save banner has done its job.
  await expect(page.getByTestId('created-banner')).toHaveCount(0);
  await expect(partner.getByTestId('device-status')).toHaveText('ACTIVE');

  // 5. The household sees the Charge Amps Charge Control card on its overview.
  await open(annaPage, `${base}/`);
  // First the household accepts the site the installer set up for it.
  const invitation = annaPage.getByTestId('invitation');
  await expect(invitation).toContainText('has set up Villa Ek for your household');
  await invitation.getByRole('button', { name: 'Accept' }).click();
  await expect(annaPage.getByTestId('invitations')).toHaveCount(0);
  const card = annaPage.getByTestId('reporter-card');
  await expect(card).toContainText('Charge Amps Charge Control');
  await expect(card.getByTestId('reporter-status')).toHaveText('ACTIVE');

  // The charger charges (started low, then raised as far as the fuse allows).
  const allowed = async () => (await simState(serial)).load_balancers[0].chargers[0].allowed_a;
  await expect.poll(allowed, { timeout: 20_000 }).toBeGreaterThan(6);
  // Let it settle, then the household draws 9 A more on every phase.
  let before = -1;
  await expect.poll(async () => { const now = await allowed(); const same = now === before; before = now; return same; },
    { timeout: 20_000, intervals: [2_000] }).toBe(true);
  const put = await fetch(`${household.url}/extra-load`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ current_a: [9, 9, 9] }),
  });
  expect(put.status).toBe(200);
  // 9 A more on a 20 A fuse leaves at most 20 - 9 - 0.5 (the balancer's margin) whatever the
  // rest of the house draws at this hour: the charger comes down to 10 A or less.
  await expect.poll(allowed, { timeout: 20_000 }).toBeLessThanOrEqual(Math.min(10, before - 6));
  await expect(partner.getByTestId('allowed')).toHaveText(`${await allowed()} A`);
  // Settled: what the meter measures (house and charger) is under the fuse on every phase.
  await expect.poll(async () => {
    const measured = (await simState(serial)).devices[0].current_a ?? [];
    return Math.max(...measured.map((a) => a ?? 0));
  }, { timeout: 20_000 }).toBeLessThanOrEqual(20);

  // Charge Amps goes away: the installer sees it at once; back, it recovers without a restart.
  await cloud.stop();
  await expect(status).toHaveText('Charge Amps unreachable');
  await expect(page.getByTestId('reporter-status-detail')).toContainText('Could not reach the partner');
  await expect(card.getByTestId('reporter-status')).toHaveText('Charge Amps unreachable');
  cloud = await startChargeAmps(cloud.port, cloud.stateFile);
  await expect(status).toHaveText('ACTIVE', { timeout: 15_000 });
  await expect(card.getByTestId('reporter-status')).toHaveText('ACTIVE');

  // Paused: nothing is sent and the page says what that means.
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(status).toHaveText('Paused');
  await expect(page.getByRole('button', { name: 'Resume' })).toBeVisible();
  await annaContext.close();
});

test.describe('in Swedish', () => {
  test.use({ locale: 'sv-SE' });

  test('an Open Reporter partner through the wizard', async ({ page }) => {
    const base = server.url;
    const put = await fetch(`${cloud.url}/api/open-reporter/accounts`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'villa-gran', password: 'hemligt-123' }),
    });
    expect(put.status).toBe(204);
    await signUp(page, base, uniqueEmail('gran'));
    await open(page, `${base}/settings/sites/new`);
    await page.getByLabel('Namn').fill('Villa Gran');
    await page.getByLabel('Huvudsäkring (A)').fill('25');
    await page.getByRole('button', { name: 'Skapa anläggning' }).click();
    await expect(page.getByTestId('site-name')).toHaveText('Villa Gran');
    const siteId = Number(new URL(page.url()).pathname.split('/').pop());
    await open(page, `${base}/settings/monitors`);
    await page.getByLabel('Namn').fill('Huvudmätare');
    await page.getByRole('button', { name: 'Lägg till mätare' }).click();
    const token = (await page.getByTestId('device-token').textContent())!.trim();
    const monitor = Number((await page.getByTestId('token-panel').textContent())!.match(/id: (\d+)/)![1]);

    await open(page, `${base}/settings/reporters/new?site=${siteId}`);
    const step = page.getByTestId('wizard-step');
    await expect(step).toHaveText('Steg 1 av 6: Typ');
    // No licence: Charge Amps is not offered, and the wizard says why.
    await expect(page.getByTestId('licence-needed')).toBeVisible();
    await page.getByRole('radio', { name: /Open Reporter/ }).check();
    await page.getByRole('button', { name: 'Nästa' }).click();
    await expect(page.getByLabel('Namn')).toHaveValue('Open Reporter');
    await page.getByRole('button', { name: 'Nästa' }).click();
    await expect(step).toHaveText('Steg 3 av 6: Partner');
    await page.getByLabel('Create Token-adress').fill('partner.example/token');
    await page.getByRole('button', { name: 'Nästa' }).click();
    await expect(page.getByTestId('form-error')).toHaveText('Ange en fullständig adress som börjar med https:// (eller http://).');
    await page.getByLabel('Create Token-adress').fill(`${cloud.url}/open-reporter/createtoken`);
    await page.getByLabel('Update-adress').fill(`${cloud.url}/open-reporter/update`);
    await page.getByLabel('Användarnamn').fill('villa-gran');
    await page.getByLabel('Lösenord').fill('hemligt-123');
    await page.getByRole('button', { name: 'Nästa' }).click();
    await expect(page.getByRole('radio', { name: '25 A' })).toBeChecked();
    await page.getByRole('button', { name: 'Nästa' }).click();
    await page.getByRole('button', { name: 'Nästa' }).click();
    await page.getByRole('button', { name: 'Spara' }).click();
    await expect(page).toHaveURL(/\/settings\/reporters\/\d+/);

    // A reading goes to the partner; the reporter turns active.
    const now = new Date().toISOString();
    const res = await fetch(`${base}/api/v1/monitors/${monitor}/readings`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ readings: [{ ts: now, current_a: [12.5, 3.5, 2] }] }),
    });
    expect(res.status).toBe(200);
    await expect(page.getByTestId('reporter-status')).toHaveText('ACTIVE');
    const received = await (await fetch(`${cloud.url}/api/open-reporter/received`)).json();
    const last = received.received.filter((r: { username: string }) => r.username === 'villa-gran').pop();
    expect(last.body.calculated.relative).toEqual({ l1: 12.5, l2: 21.5, l3: 23 });

    // Settings → Reporters lists it with its status.
    await open(page, `${base}/settings/reporters`);
    const row = page.getByTestId('reporter');
    await expect(row).toContainText('Villa Gran');
    await expect(row.getByTestId('reporter-status')).toHaveText('ACTIVE');
  });
});
