import { expect } from '@playwright/test';
import { accountMenu, expectNoTextKeys, open, PASSWORD, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

test.describe('a Swedish household', () => {
  test.use({ locale: 'sv-SE' });

  test('signs up, creates a site, sees it on the overview, switches to English and back, logs out', async ({ page }) => {
    await signUp(page, server().url, uniqueEmail('anna'));

    // The browser speaks Swedish, so the app does.
    await expect(page.locator('html')).toHaveAttribute('lang', 'sv');
    await expect(page.getByRole('heading', { name: 'Dina anläggningar' })).toBeVisible();
    await expect(page.getByText('Inga anläggningar än')).toBeVisible();

    await page.getByRole('link', { name: 'Skapa din första anläggning' }).click();
    await page.getByLabel('Namn').fill('Villa Ek');
    await page.getByLabel('Adress').fill('Ekvägen 3, 752 36 Uppsala');
    await page.getByLabel('Huvudsäkring (A)').fill('20');
    await page.getByLabel('Elområde').selectOption('SE3');
    await page.getByRole('button', { name: 'Skapa anläggning' }).click();
    await expect(page).toHaveURL(/\/sites\/\d+$/);
    await expect(page.getByTestId('site-name')).toHaveText('Villa Ek');

    await page.getByRole('link', { name: 'Översikt' }).click();
    const card = page.getByTestId('site-card');
    await expect(card).toHaveCount(1);
    await expect(card).toContainText('Villa Ek');
    await expect(card).toContainText('Huvudsäkring 20 A');
    await expect(card).toContainText('SE3 · Stockholm');

    await accountMenu(page);
    await page.getByRole('button', { name: 'English' }).click();
    await expect(page.getByRole('heading', { name: 'Your sites' })).toBeVisible();
    await expect(page.getByTestId('site-card')).toContainText('20 A main fuse');
    await expectNoTextKeys(page);
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');

    // The choice is remembered: a fresh page load is English although the browser says Swedish.
    await open(page, `${server().url}/`);
    await expect(page.getByRole('heading', { name: 'Your sites' })).toBeVisible();

    await accountMenu(page);
    await page.getByRole('button', { name: 'Svenska' }).click();
    await expect(page.getByRole('heading', { name: 'Dina anläggningar' })).toBeVisible();

    await accountMenu(page);
    await page.getByRole('button', { name: 'Logga ut' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole('heading', { name: 'Logga in' })).toBeVisible();

    // Signed out means signed out: the overview sends us back to the login page.
    await open(page, `${server().url}/`);
    await expect(page).toHaveURL(/\/login$/);
  });
});

test.describe('an English-speaking user', () => {
  test.use({ locale: 'en-GB' });

  test('gets clear messages for a weak password, a taken e-mail and a wrong password', async ({ page }) => {
    const email = uniqueEmail('bo');
    await open(page, `${server().url}/signup`);
    await page.getByLabel('E-mail address').fill(email);
    await page.getByLabel('Password').fill('password1234');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByTestId('form-error')).toHaveText('That password is too easy to guess. Try a few unrelated words.');

    await signUp(page, server().url, email);
    await accountMenu(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);

    // Signing up again with another password: the answer does not tell whether the address
    // has an account (SECURITY.md), but the page says what to do if it has.
    await open(page, `${server().url}/signup`);
    await page.getByLabel('E-mail address').fill(email.toUpperCase());
    await page.getByLabel('Password').fill('Ett-helt-annat-lösenord-77');
    await page.getByRole('button', { name: 'Create account' }).click();
    const existing = page.getByTestId('sign-up-existing');
    await expect(existing).toContainText('If this address already has an account, log in with its password.');

    await existing.getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('E-mail address').fill(email);
    await page.getByLabel('Password').fill('not-my-password-at-all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByTestId('form-error')).toHaveText('Wrong e-mail address or password.');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('heading', { name: 'Your sites' })).toBeVisible();
  });
});
