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
  await expect(page.getByText('16 A main fuse')).toBeVisible();

  await open(page, `${server().url}/settings/sites/${id}`);
  await page.getByLabel('Main fuse (A)').fill('25');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('Saved.');
  await open(page, `${server().url}/sites/${id}`);
  await expect(page.getByText('25 A main fuse')).toBeVisible();

  await open(page, `${server().url}/settings/sites/${id}`);
  await page.getByText('Delete site…').click();
  await expect(page.getByText('Delete Sommarstuga and everything that belongs to it?')).toBeVisible();
  await page.getByRole('button', { name: 'Delete permanently' }).click();
  await expect(page).toHaveURL(/\/settings\/sites$/);
  await expect(page.getByText('Sommarstuga')).toHaveCount(0);
  const response = await page.goto(`${server().url}/sites/${id}`);
  expect(response?.status()).toBe(404);
});
