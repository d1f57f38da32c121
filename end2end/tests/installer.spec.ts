// The installer on site (issue 21): every mistake says what to do, in the guide's own words.
// The guide walked with each error: a wrong PIN then fixed; a reload at every wizard step, Back
// and Forward, a second tab; two sites and a monitor that has a reporter already; the meter
// silent and back; an Open Reporter partner refusing a packet, refusing the password, down and
// back. Phone and desktop (the two projects), English and Swedish.
import { expect, Page } from '@playwright/test';
import { holdWasm, loadsPage, open, signUp, test, uniqueEmail } from './helpers';
import { Server, startChargeAmps, startServer } from './server';

type Cloud = Awaited<ReturnType<typeof startChargeAmps>>;
let cloud: Cloud;
let server: Server;

test.beforeAll(async () => {
  cloud = await startChargeAmps();
  server = await startServer({
    AMPWISE_CHARGE_AMPS_URL: `${cloud.url}/measurement`,
    AMPWISE_PARTNER_ALLOW: new URL(cloud.url).host,
    AMPWISE_PARTNER_RETRY_MAX_SECS: '2',
    // A meter silent 5 s is offline: the silence tests wait seconds, not half a minute.
    AMPWISE_MONITOR_SILENT_SECS: '5',
  });
});

test.afterAll(async () => {
  await server?.stop();
  await cloud?.stop();
});

test.use({ locale: 'en-GB', permissions: ['clipboard-read', 'clipboard-write'] });

/** Readings measured `agoMs` before now (a reading measured now by default), as the meter
 * posts them. */
async function post(monitor: number, token: string, current: number[], agoMs: number[] = [0]): Promise<void> {
  const now = Date.now();
  const readings = agoMs.map((ago) => ({ ts: new Date(now - ago).toISOString(), current_a: current }));
  const res = await fetch(`${server.url}/api/v1/monitors/${monitor}/readings`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ readings }),
  });
  expect(res.status).toBe(200);
}

/** A monitor on `site` through the server function (the page for it has its own tests). */
async function monitorOn(page: Page, site: number, name = 'Mains'): Promise<{ monitor: number; token: string }> {
  const res = await page.request.post(`${server.url}/api/create_monitor`, {
    form: { 'monitor[site_id]': String(site), 'monitor[name]': name, 'monitor[phases]': '3', 'monitor[kind]': 'http' },
  });
  expect(res.status()).toBe(200);
  const json = await res.json();
  return { monitor: json.monitor_id, token: json.token };
}

/** A site through the server function, whatever the page's language. */
async function siteNamed(page: Page, name: string, fuse = '20'): Promise<number> {
  const res = await page.request.post(`${server.url}/api/create_site`, {
    form: {
      'site[name]': name, 'site[address]': 'Ekvägen 3', 'site[time_zone]': 'Europe/Stockholm',
      'site[price_area]': 'SE3', 'site[main_fuse_a]': fuse,
    },
  });
  expect(res.status(), await res.text()).toBe(200);
  return res.json();
}

async function redeemLicence(page: Page): Promise<string> {
  const [code] = server.cli('licences', 'mint').trim().split('\n');
  const res = await page.request.post(`${server.url}/api/redeem_licence`, { form: { code } });
  expect(res.status()).toBe(200);
  return code;
}

test('a type ticked, Next tapped and a name typed while the wizard is still loading all count', async ({ page }) => {
  await signUp(page, server.url, uniqueEmail('early'));
  const site = await siteNamed(page, 'Villa Tidig');
  await monitorOn(page, site);
  await open(page, `${server.url}/sites/${site}`);
  // The wizard is a page load of its own (app/src/bundle.rs); on a slow phone the installer
  // taps before its wasm has arrived.
  const release = await holdWasm(page);
  await page.getByTestId('site-add-reporter').click();
  const openReporter = page.getByRole('radio', { name: /^Open Reporter/ });
  await openReporter.check();
  // And taps Next, which does nothing until the wasm is there: it is pressed once it is
  // (app/src/boot.js).
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('wizard-step')).toHaveText('Step 1 of 6: Type');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(0);
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/save_reporter_draft') && r.ok());
  await release();
  await saved;
  await expect(page.getByTestId('wizard-step')).toHaveText('Step 2 of 6: Name');
  await page.goBack();
  await expect(openReporter).toBeChecked();
  await page.goForward();
  await expect(page.getByTestId('wizard-step')).toHaveText('Step 2 of 6: Name');
  const name = page.getByLabel('Name');
  await expect(name).toHaveValue('Open Reporter');
  // The phone drops the page and loads it again; the installer types the name before the wasm
  // is back. The wasm takes over with what was typed (app/src/boot.js), and Next keeps it.
  const again = await holdWasm(page);
  await page.reload();
  await name.fill('Garaget');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(0);
  await again();
  await expect(name).toHaveValue('Garaget');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('wizard-step')).toHaveText(/^Step 3 of 6/);
  await page.goBack();
  await expect(page.getByTestId('wizard-step')).toHaveText('Step 2 of 6: Name');
  await expect(name).toHaveValue('Garaget');
});

test('the wizard survives a reload at every step, Back and Forward, and a second tab', async ({ page, context }) => {
  test.setTimeout(120_000);
  await signUp(page, server.url, uniqueEmail('ivar'));
  const site = await siteNamed(page, 'Villa Tall', '25');
  await monitorOn(page, site);
  await redeemLicence(page);

  await open(page, `${server.url}/sites/${site}`);
  await loadsPage(page, () => page.getByTestId('site-add-reporter').click());
  const step = page.getByTestId('wizard-step');
  const next = page.getByRole('button', { name: 'Next' });
  // Next saves the draft (the step reached) as it moves on; a reload at once would cancel that
  // save, for a person as for this test: before a reload the test waits for it.
  const nextSaved = async () => {
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/save_reporter_draft') && r.ok());
    await next.click();
    await saved;
  };
  await expect(step).toHaveText('Step 1 of 6: Type');
  await expect(page.getByTestId('wizard-site')).toHaveText('For Villa Tall');
  await loadsPage(page, () => page.reload());
  await expect(step).toHaveText('Step 1 of 6: Type');
  await page.getByRole('radio', { name: /Charge Amps Charge Control/ }).check();
  await next.click();
  await expect(page).toHaveURL(new RegExp(`site=${site}&step=2$`));
  await page.getByLabel('Name').fill('Garage');
  await next.click();
  await expect(step).toHaveText('Step 3 of 6: Serial number and PIN');
  await page.getByRole('button', { name: 'Get Serial Number and PIN' }).click();
  const serial = (await page.getByTestId('serial').textContent())!.trim();
  const pin = (await page.getByTestId('pin').textContent())!.trim();

  // A reload at step 3 stays at step 3, with the same serial and PIN (Partner has them).
  await page.reload();
  await expect(step).toHaveText('Step 3 of 6: Serial number and PIN');
  await expect(page.getByTestId('serial')).toHaveText(serial);
  await expect(page.getByTestId('pin')).toHaveText(pin);
  // A second tab on the wizard finds the same draft.
  const second = await context.newPage();
  await open(second, `${server.url}/settings/reporters/new?site=${site}&step=3`);
  await expect(second.getByTestId('serial')).toHaveText(serial);
  await second.close();

  await nextSaved();
  await expect(step).toHaveText('Step 4 of 6: Main fuse');
  await page.reload();
  await expect(step).toHaveText('Step 4 of 6: Main fuse');
  await expect(page.getByRole('radio', { name: '25 A' })).toBeChecked();
  await nextSaved();
  await expect(step).toHaveText('Step 5 of 6: Monitor');
  await page.reload();
  await expect(page.getByRole('radio', { name: /Mains/ })).toBeChecked();
  await nextSaved();
  await expect(step).toHaveText('Step 6 of 6: Save');
  await page.reload();
  await expect(step).toHaveText('Step 6 of 6: Save');
  await expect(page.getByTestId('summary')).toContainText('Garage');
  await expect(page.getByTestId('summary')).toContainText(serial);
  await expect(page.getByTestId('summary-licence')).toContainText(/[A-Z0-9]{5}-/);

  // The browser's Back and Forward move between steps.
  await page.goBack();
  await expect(step).toHaveText('Step 5 of 6: Monitor');
  await page.goBack();
  await expect(step).toHaveText('Step 4 of 6: Main fuse');
  await page.goForward();
  await expect(step).toHaveText('Step 5 of 6: Monitor');

  // Opening the wizard afresh offers to continue, at the step reached.
  await open(page, `${server.url}/settings/reporters/new`);
  const draft = page.getByTestId('draft');
  await expect(draft).toContainText('Villa Tall · Garage');
  await expect(draft).toContainText('at step 6 of 6');
  await expect(draft).toContainText(serial);
  await draft.getByRole('link', { name: 'Continue' }).click();
  await expect(step).toHaveText('Step 6 of 6: Save');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/settings\/reporters\/\d+\?created=1$/);
  await expect(page.getByTestId('serial')).toHaveText(serial);
  await expect(page.getByTestId('pin')).toHaveText(pin);
  // Saved: no draft left to continue.
  await open(page, `${server.url}/settings/reporters/new`);
  await expect(page.getByTestId('drafts')).toHaveCount(0);
});

test('two sites: the wizard asks which, says which licence, and asks before a second reporter on a monitor', async ({ page }) => {
  test.setTimeout(90_000);
  await signUp(page, server.url, uniqueEmail('ines'));
  const first = await siteNamed(page, 'Villa Ett');
  const other = await siteNamed(page, 'Villa Två');
  await monitorOn(page, first);
  await monitorOn(page, other);
  const licence = await redeemLicence(page);
  await redeemLicence(page);

  // From Settings, with two sites, nothing is chosen for the installer.
  await open(page, `${server.url}/settings/reporters/new`);
  await page.getByRole('radio', { name: /Open Reporter/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('Choose the site the reporter is for.');
  await page.getByLabel('Site').selectOption({ label: 'Villa Två' });
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(new RegExp(`site=${other}&step=2$`));

  // On Villa Ett's own page: for Villa Ett. Two Charge Amps reporters on its one monitor.
  const charge = async () => {
    await open(page, `${server.url}/sites/${first}`);
    await page.getByTestId('site-add-reporter').click();
    await expect(page.getByTestId('wizard-site')).toHaveText('For Villa Ett');
    await page.getByRole('radio', { name: /Charge Amps Charge Control/ }).check();
    for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Get Serial Number and PIN' }).click();
    await expect(page.getByTestId('serial')).toBeVisible();
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByTestId('wizard-step')).toHaveText('Step 6 of 6: Save');
  };
  await charge();
  await expect(page.getByTestId('summary-licence')).toContainText(/[A-Z0-9]{5}-/);
  await expect(page.getByTestId('monitor-has-one')).toHaveCount(0);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\?created=1$/);
  // The licences page says which reporter holds which licence.
  await open(page, `${server.url}/settings/licences`);
  await expect(page.getByTestId('licence-used-by')).toHaveCount(1);
  await expect(page.getByTestId('licence-free')).toHaveCount(1);
  expect(licence).toBeTruthy();

  await charge();
  const asked = page.getByTestId('monitor-has-one');
  await expect(asked).toContainText('This monitor already has a reporter of this type');
  await expect(asked.getByRole('link', { name: 'Charge Amps charge control' })).toBeVisible();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('form-error')).toContainText('Tick the box to save a second one anyway');
  await asked.getByLabel('Save a second one anyway').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\?created=1$/);
});

test('a wrong PIN is named as such, and the PIN to compare is shown after two minutes', async ({ page }) => {
  test.setTimeout(90_000);
  await page.clock.install();
  await signUp(page, server.url, uniqueEmail('olle'));
  const site = await siteNamed(page, 'Villa Pin');
  const { monitor, token } = await monitorOn(page, site);
  await redeemLicence(page);
  await open(page, `${server.url}/settings/reporters/new?site=${site}`);
  await page.getByRole('radio', { name: /Charge Amps Charge Control/ }).check();
  for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Get Serial Number and PIN' }).click();
  const serial = (await page.getByTestId('serial').textContent())!.trim();
  const pin = (await page.getByTestId('pin').textContent())!.trim();
  for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('wizard-step')).toHaveText('Step 6 of 6: Save');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\?created=1$/);

  // In Partner with one digit wrong.
  const typo = pin.slice(0, 7) + (pin[7] === '0' ? '1' : '0');
  const made = await fetch(`${cloud.url}/api/devices`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ serial, pin: typo }),
  });
  expect(made.status).toBe(201);
  await post(monitor, token, [5, 5, 5]);
  const detail = page.getByTestId('reporter-status-detail');
  await expect(page.getByTestId('reporter-status')).toHaveText('Not accepted by Charge Amps');
  await expect(detail).toContainText(/Charge Amps refused the serial number and PIN [2-9]\d* times, last at \d\d:\d\d/);
  await expect(page.getByTestId('compare-credentials')).toHaveCount(0);
  // Two minutes of refusals: the page asks to compare, with the values to copy.
  await page.clock.fastForward('02:05');
  await expect(detail).toContainText('compare them with these');
  const compare = page.getByTestId('compare-credentials');
  await expect(compare.getByTestId('pin')).toHaveText(pin);
  await compare.getByRole('button', { name: 'Copy PIN' }).click();
  // Fixed in Partner (its own form): ACTIVE.
  const fixed = await fetch(`${cloud.url}/partner/devices/pin`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ serial, pin }).toString(),
    redirect: 'manual',
  });
  expect([200, 303]).toContain(fixed.status);
  await post(monitor, token, [5, 5, 5]);
  // The page's clock was moved two minutes on: read it again at the server's time.
  await page.reload();
  await expect(page.getByTestId('reporter-status')).toHaveText('ACTIVE', { timeout: 20_000 });
});

test('a silent meter: seconds to the fallback, then offline; greyed numbers; back at once', async ({ page }) => {
  test.setTimeout(90_000);
  await signUp(page, server.url, uniqueEmail('siri'));
  const site = await siteNamed(page, 'Villa Tyst');
  const { monitor, token } = await monitorOn(page, site);
  const user = `tyst-${Date.now()}`;
  await fetch(`${cloud.url}/api/open-reporter/accounts`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: user, password: 'tyst-123' }),
  });
  const res = await page.request.post(`${server.url}/api/create_reporter`, {
    form: {
      'reporter[site_id]': String(site), 'reporter[kind]': 'open_reporter', 'reporter[name]': 'Partner',
      'reporter[main_fuse_a]': '20', 'reporter[monitor_id]': String(monitor),
      'reporter[create_token_url]': `${cloud.url}/open-reporter/createtoken`,
      'reporter[update_url]': `${cloud.url}/open-reporter/update`,
      'reporter[username]': user, 'reporter[password]': 'tyst-123',
    },
  });
  expect(res.status()).toBe(200);
  // The meter has reported every second, and then stops.
  await post(monitor, token, [6, 5, 4], [3000, 2000, 1000, 0]);
  await open(page, `${server.url}/sites/${site}`);
  const card = page.getByTestId('reporter-card');
  const status = card.getByTestId('reporter-status');
  await expect(status).toHaveText('Meter silent', { timeout: 10_000 });
  await expect(card.getByTestId('reporter-status-detail')).toContainText(/Meter silent for \d+ s: the chargers fall back to their safe current in \d+ s/);
  await expect(page.getByTestId('monitor-status')).toContainText(/Silent for \d+ s/);
  await expect(page.locator('#live-numbers')).toHaveClass(/stale/);
  await expect(status).toHaveText('Monitor offline', { timeout: 15_000 });
  await expect(page.getByTestId('monitor-status')).toContainText('Offline');
  // The packets sent while it is silent are accepted by a partner that types its packets.
  type Received = { username: string; body: { meterstatus: string; calculated: { relative: object } } };
  const offline = async () => ((await (await fetch(`${cloud.url}/api/open-reporter/received`)).json()).received as Received[])
    .filter((r) => r.username === user && r.body.meterstatus === 'offline');
  await expect.poll(async () => (await offline()).length, { timeout: 15_000 }).toBeGreaterThan(0);
  expect((await offline())[0].body.calculated.relative).toEqual({ l1: 0, l2: 0, l3: 0 });
  expect((await (await fetch(`${cloud.url}/api/open-reporter/received`)).json()).refused).toBe(0);
  // Back: the first reading goes out at once; the graph has a gap where the meter was silent.
  await post(monitor, token, [7, 5, 4]);
  await expect(status).toHaveText('ACTIVE');
  await expect(page.getByTestId('monitor-status')).toContainText('Online');
  await expect(page.locator('#live-numbers')).not.toHaveClass(/stale/);
  await expect(page.getByTestId('line-l1')).toHaveAttribute('d', /^M[^M]+ M/);
});

test.describe('in Swedish', () => {
  test.use({ locale: 'sv-SE' });

  test('an Open Reporter partner refusing a packet, refusing the password, down and back', async ({ page }) => {
    test.setTimeout(90_000);
    await signUp(page, server.url, uniqueEmail('par'));
    const site = await siteNamed(page, 'Villa Partner');
    const { monitor, token } = await monitorOn(page, site);
    const user = `villa-${Date.now()}`;
    const host = new URL(cloud.url).host;
    await fetch(`${cloud.url}/api/open-reporter/accounts`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: user, password: 'rätt-lösen-1' }),
    });
    const res = await page.request.post(`${server.url}/api/create_reporter`, {
      form: {
        'reporter[site_id]': String(site), 'reporter[kind]': 'open_reporter', 'reporter[name]': 'Partnern',
        'reporter[main_fuse_a]': '20', 'reporter[monitor_id]': String(monitor),
        'reporter[create_token_url]': `${cloud.url}/open-reporter/createtoken`,
        'reporter[update_url]': `${cloud.url}/open-reporter/update`,
        'reporter[username]': user, 'reporter[password]': 'fel-lösen-1',
      },
    });
    expect(res.status()).toBe(200);
    const id = await res.json();
    await open(page, `${server.url}/settings/reporters/${id}`);
    const status = page.getByTestId('reporter-status');
    const detail = page.getByTestId('reporter-status-detail');
    await post(monitor, token, [5, 5, 5]);
    // The wrong password: named, and the partner by its name.
    await expect(status).toHaveText(`Inte godkänd av ${host}`);
    await expect(detail).toContainText(`${host} har nekat användarnamnet och lösenordet`);
    // The right one.
    await page.getByLabel('Lösenord').fill('rätt-lösen-1');
    await page.getByRole('button', { name: 'Spara' }).click();
    await post(monitor, token, [5, 5, 5]);
    await expect(status).toHaveText('ACTIVE', { timeout: 15_000 });
    // The partner refuses a packet: said so, and the next reading goes out at once.
    await fetch(`${cloud.url}/api/faults`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode: 'bad_request', target: user }),
    });
    await post(monitor, token, [6, 5, 5]);
    await expect(status).toHaveText(`${host} svarar inte`);
    await expect(detail).toContainText('Partnern tog inte emot uppdateringen (HTTP 400)');
    await fetch(`${cloud.url}/api/faults`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode: 'none' }),
    });
    await post(monitor, token, [6, 5, 5]);
    await expect(status).toHaveText('ACTIVE');
    // Down and back.
    await fetch(`${cloud.url}/api/faults`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode: 'error', target: user }),
    });
    await post(monitor, token, [6, 5, 5]);
    await expect(detail).toContainText('Partnern svarade med ett fel (HTTP 500)');
    await fetch(`${cloud.url}/api/faults`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode: 'none' }),
    });
    await post(monitor, token, [6, 5, 5]);
    await expect(status).toHaveText('ACTIVE', { timeout: 15_000 });
  });

  test("the guide's own words", async ({ page }) => {
    await signUp(page, server.url, uniqueEmail('ord'));
    const site = await siteNamed(page, 'Villa Ord');
    await monitorOn(page, site);
    await redeemLicence(page);
    await open(page, `${server.url}/settings/reporters`);
    for (const word of ['Inställningar', 'Licenser', 'Rapportörer']) {
      await expect(page.getByRole('link', { name: word, exact: true }).first()).toBeVisible();
    }
    await page.getByRole('link', { name: 'Lägg till ny rapportör' }).first().click();
    await page.getByRole('radio', { name: /Charge Amps Charge Control/ }).check();
    for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Nästa' }).click();
    await expect(page.getByRole('button', { name: 'Hämta serienummer och PIN' })).toBeVisible();
  });
});

test("the guide's own words in English", async ({ page }) => {
  await signUp(page, server.url, uniqueEmail('words'));
  const site = await siteNamed(page, 'Villa Words');
  await monitorOn(page, site);
  await redeemLicence(page);
  await open(page, `${server.url}/settings/reporters`);
  for (const word of ['Settings', 'Licenses', 'Reporters']) {
    await expect(page.getByRole('link', { name: word, exact: true }).first()).toBeVisible();
  }
  await loadsPage(page, () => page.getByRole('link', { name: 'Add new Reporter' }).first().click());
  await page.getByRole('radio', { name: /Charge Amps Charge Control/ }).check();
  for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('button', { name: 'Get Serial Number and PIN' })).toBeVisible();
});
