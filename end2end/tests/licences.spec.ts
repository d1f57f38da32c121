import { expect } from '@playwright/test';
import { createSite, holdWasm, loadsPage, open, PASSWORD, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

test.use({ locale: 'en-GB' });

test('an installer redeems licences by typing the code and by the QR link', async ({ page }) => {
  const [typed, linked] = server().cli('licences', 'mint', '--count', '2').trim().split('\n');
  expect(typed).toMatch(/^[2-9A-Z]{5}(-[2-9A-Z]{5}){3}$/);

  // The installer's customer, whose site the reporter would go on.
  const owner = uniqueEmail('anna');
  const customer = await page.context().browser()!.newContext();
  await signUp(await customer.newPage(), server().url, owner);
  await customer.close();
  await signUp(page, server().url, uniqueEmail('ivan'), 'installer');
  // Without the licence, the reporter wizard says which licence is missing and links to Licences.
  await createSite(page, server().url, { name: 'Villa Ek', customer: owner });
  await open(page, `${server().url}/settings/reporters/new`);
  await expect(page.getByTestId('licence-needed')).toContainText('Needs a free Charge Amps integration license');
  await expect(page.getByRole('radio', { name: /Charge Amps Charge Control/ })).toBeDisabled();
  // Licences is another bundle: the link loads a page, and on a slow phone the installer starts
  // typing before its wasm has arrived. What they typed stays in the field once it has.
  const release = await holdWasm(page);
  await page.getByRole('link', { name: 'Redeem a license' }).click();
  await expect(page).toHaveURL(/\/settings\/licences$/);
  await expect(page.getByText('No licenses yet')).toBeVisible();
  const field = page.getByLabel('License code');
  const mistyped = typed.slice(0, 3) + (typed[3] === '2' ? '3' : '2') + typed.slice(4);
  await field.fill(mistyped);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(0);
  await release();
  await expect(field).toHaveValue(mistyped);

  // A mistyped character is caught in the browser, with a message that says so.
  const sent: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/api/redeem_licence')) sent.push(r.url()); });
  await page.getByRole('button', { name: 'Redeem' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('A character in the code is mistyped. Compare it with the printed code.');
  expect(sent, 'a mistyped code never reaches the server').toEqual([]);

  // Typed as a person would from paper: lower case, no dashes. The field formats it.
  await field.fill('');
  await field.pressSequentially(typed.toLowerCase().replaceAll('-', ''));
  await expect(field).toHaveValue(typed);
  await page.getByRole('button', { name: 'Redeem' }).click();
  await expect(page.getByRole('status')).toHaveText('License redeemed: Charge Amps integration is now active on your account.');
  await expect(page.getByTestId('licences')).toContainText(typed);
  await open(page, `${server().url}/settings/reporters/new`);
  await expect(page.getByRole('radio', { name: /Charge Amps Charge Control/ })).toBeEnabled();
  await expect(page.getByText('Uses one of your Charge Amps licenses (1 free).')).toBeVisible();
  await loadsPage(page, () => page.getByRole('link', { name: 'Licenses' }).click());

  // The same code again: already active on this account.
  await field.fill(typed);
  await page.getByRole('button', { name: 'Redeem' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('This license is already active on your account.');

  // The QR code's link opens this page with the code filled in.
  await open(page, `${server().url}/settings/licences?code=${linked}`);
  await expect(page.getByLabel('License code')).toHaveValue(linked);
  await page.getByRole('button', { name: 'Redeem' }).click();
  await expect(page.getByRole('status')).toBeVisible();
  await expect(page.getByTestId('licences').locator('li')).toHaveCount(2);

  // The operator revokes one; it disappears from the account.
  server().cli('licences', 'revoke', typed);
  await open(page, `${server().url}/settings/licences`);
  await expect(page.getByTestId('licences').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('licences')).toContainText(linked);
});

test('a code redeemed by one account is refused for another', async ({ browser }) => {
  const [code] = server().cli('licences', 'mint').trim().split('\n');
  for (const [who, message] of [
    ['first', null],
    ['second', 'This license has already been redeemed by another account.'],
  ] as const) {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await signUp(page, server().url, uniqueEmail(who), 'installer');
    await open(page, `${server().url}/settings/licences?code=${code}`);
    await page.getByRole('button', { name: 'Redeem' }).click();
    if (message) {
      await expect(page.getByTestId('form-error')).toHaveText(message);
    } else {
      await expect(page.getByRole('status')).toBeVisible();
    }
    await context.close();
  }
});

test('a signed-out installer who scans the QR code logs in and lands on the code', async ({ browser }) => {
  const [code] = server().cli('licences', 'mint').trim().split('\n');
  const email = uniqueEmail('eva');
  const setup = await browser.newContext({ locale: 'en-GB' });
  await signUp(await setup.newPage(), server().url, email, 'installer');
  await setup.close();

  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await open(page, `${server().url}/settings/licences?code=${code}`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/settings\/licences\?code=/);
  await expect(page.getByLabel('License code')).toHaveValue(code);
  await context.close();
});

test('a new installer who scans the QR code signs up and lands on the code', async ({ browser }) => {
  const [code] = server().cli('licences', 'mint').trim().split('\n');
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await open(page, `${server().url}/settings/licences?code=${code}`);
  await page.getByRole('link', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/signup\?next=/);
  await page.getByLabel('E-mail address').fill(uniqueEmail('newbie'));
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Installer').check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/settings\/licences\?code=/);
  await expect(page.getByLabel('License code')).toHaveValue(code);
  await context.close();
});

test('a login link cannot send anyone to another site', async ({ page }) => {
  const email = uniqueEmail('mallory-target');
  await signUp(page, server().url, email);
  await open(page, `${server().url}/login?next=//evil.example/phish`);
  await expect(page).toHaveURL(`${server().url}/`);
});
