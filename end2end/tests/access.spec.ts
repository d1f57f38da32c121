import { expect } from '@playwright/test';
import { createSite, open, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

test.use({ locale: 'en-GB' });

test("a second user cannot open the first user's site", async ({ browser }) => {
  const first = await browser.newContext({ locale: 'en-GB' });
  const a = await first.newPage();
  await signUp(a, server().url, uniqueEmail('first'));
  const id = await createSite(a, server().url, { name: 'Villa Hemlig', address: 'Hemliga gatan 1' });

  const second = await browser.newContext({ locale: 'en-GB' });
  const b = await second.newPage();
  await signUp(b, server().url, uniqueEmail('second'));

  for (const path of [`/sites/${id}`, `/settings/sites/${id}`]) {
    const response = await b.goto(`${server().url}${path}`);
    expect(response?.status(), path).toBe(404);
    await expect(b.getByRole('heading', { name: 'Not found' })).toBeVisible();
    await expect(b.getByText('Villa Hemlig')).toHaveCount(0);
    await expect(b.getByText('Hemliga gatan 1')).toHaveCount(0);
  }

  // The API says the same, and changes nothing.
  const read = await b.request.post(`${server().url}/api/get_site`, { form: { id: String(id) } });
  expect(read.status()).toBe(404);
  const del = await b.request.post(`${server().url}/api/delete_site`, { form: { id: String(id) } });
  expect(del.status()).toBe(404);
  await open(a, `${server().url}/sites/${id}`);
  await expect(a.getByTestId('site-name')).toHaveText('Villa Hemlig');

  await first.close();
  await second.close();
});

test('an owner edits and deletes a site after confirming', async ({ page }) => {
  await signUp(page, server().url, uniqueEmail('owner'));
  const id = await createSite(page, server().url, { name: 'Sommarstuga', fuse: '16', area: 'SE2' });
  await open(page, `${server().url}/settings/sites/${id}`);

  // The server checks the time zone against the IANA database; a typo changes nothing.
  await page.getByLabel('Time zone').fill('Europe/Stockhom');
  await page.getByLabel('Main fuse (A)').fill('35');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('form-error')).toHaveText('Unknown time zone. Use a name like Europe/Stockholm.');
  await expect(page.getByLabel('Time zone')).toHaveAttribute('aria-invalid', 'true');
  await open(page, `${server().url}/sites/${id}`);
  await expect(page.getByTestId('site-fuse')).toHaveText('16 A');

  await open(page, `${server().url}/settings/sites/${id}`);
  await page.getByLabel('Main fuse (A)').fill('25');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('Saved.');
  await open(page, `${server().url}/sites/${id}`);
  await expect(page.getByTestId('site-fuse')).toHaveText('25 A');

  await open(page, `${server().url}/settings/sites/${id}`);
  await page.getByText('Delete site…').click();
  await expect(page.getByText('Delete Sommarstuga and everything that belongs to it?')).toBeVisible();
  await page.getByRole('button', { name: 'Delete permanently' }).click();
  await expect(page).toHaveURL(/\/settings\/sites$/);
  await expect(page.getByText('Sommarstuga')).toHaveCount(0);
  const response = await page.goto(`${server().url}/sites/${id}`);
  expect(response?.status()).toBe(404);
});

test('after removing an installer, the owner sees what they set up and deals with each', async ({ browser }) => {
  const ownerContext = await browser.newContext({ locale: 'en-GB' });
  const owner = await ownerContext.newPage();
  await signUp(owner, server().url, uniqueEmail('anna'));
  const id = await createSite(owner, server().url, { name: 'Villa Lind' });
  const installerEmail = uniqueEmail('ida');
  const installerContext = await browser.newContext({ locale: 'en-GB' });
  const installer = await installerContext.newPage();
  await signUp(installer, server().url, installerEmail, 'installer');

  await open(owner, `${server().url}/settings/sites/${id}`);
  await owner.getByLabel("Installer's e-mail address").fill(installerEmail);
  await owner.getByRole('button', { name: 'Give access' }).click();
  await expect(owner.getByTestId('access').getByText(installerEmail, { exact: true })).toBeVisible();

  // The installer registers the mains monitor (seeing its token) and a reporter to a partner.
  const monitor = await installer.request.post(`${server().url}/api/create_monitor`, {
    form: { 'monitor[site_id]': String(id), 'monitor[name]': 'Mains', 'monitor[phases]': '3', 'monitor[kind]': 'http' },
  });
  expect(monitor.status()).toBe(200);
  const monitorId = (await monitor.json()).monitor_id;
  const reporter = await installer.request.post(`${server().url}/api/create_reporter`, {
    form: {
      'reporter[site_id]': String(id), 'reporter[kind]': 'open_reporter', 'reporter[name]': 'Partner link',
      'reporter[main_fuse_a]': '20', 'reporter[monitor_id]': String(monitorId),
      'reporter[create_token_url]': 'https://partner.invalid/token', 'reporter[update_url]': 'https://partner.invalid/update',
      'reporter[username]': 'lind', 'reporter[password]': 's3cret',
    },
  });
  expect(reporter.status()).toBe(200);

  // The owner removes the installer: the dialog says what stays.
  await open(owner, `${server().url}/settings/sites/${id}`);
  const access = owner.getByTestId('access');
  await access.getByText('Remove access').first().click();
  await expect(owner.getByTestId('revoke-leaves')).toContainText('1 reporter(s)');
  await expect(owner.getByTestId('revoke-leaves')).toContainText('1 monitor(s)');
  await access.getByRole('button', { name: 'Remove access' }).click();
  await expect(access.getByText(installerEmail, { exact: true })).toHaveCount(0);

  const left = owner.getByTestId('left-behind');
  await expect(left.getByText(`Set up by ${installerEmail}`)).toBeVisible();
  await expect(left.getByTestId('left-reporter')).toContainText("sends this site's readings to partner.invalid");
  // A new token for the monitor (shown once), and the reporter deleted.
  await left.getByTestId('left-monitor').getByRole('button', { name: 'New token' }).click();
  await expect(owner.getByTestId('device-token')).toBeVisible();
  await left.getByTestId('left-reporter').getByRole('button', { name: 'Delete' }).click();
  await expect(owner.getByTestId('left-behind')).toHaveCount(0);

  // The token the installer saw no longer works.
  const posted = await installer.request.post(`${server().url}/api/v1/monitors/${monitorId}/readings`, {
    headers: { authorization: `Bearer ${(await monitor.json()).token}` },
    data: { readings: [{ ts: new Date().toISOString(), current_a: [1, 1, 1] }] },
  });
  expect(posted.status()).toBe(401);
  await ownerContext.close();
  await installerContext.close();
});
