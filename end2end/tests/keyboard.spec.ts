// Everything the first minutes need, by keyboard alone: Tab to a control, Enter or Space to use
// it — the account menu, the theme, the settings tabs, logging out and in again.
import { expect, Page } from '@playwright/test';
import { open, PASSWORD, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();
test.use({ locale: 'en-GB' });

/** Presses Tab until the focused element matches `selector`; fails if it never does. */
async function tabTo(page: Page, selector: string, limit = 40): Promise<void> {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${selector} is not reachable by Tab`);
}

test('a household can do the first minutes by keyboard alone', async ({ page }) => {
  const base = server().url;
  const email = uniqueEmail('keys');
  await signUp(page, base, email);
  await open(page, `${base}/`);

  // The account menu opens from the keyboard, and its theme buttons work.
  await tabTo(page, '[data-testid="account-menu"]');
  await page.keyboard.press('Enter');
  await expect(page.locator('details.account-menu')).toHaveAttribute('open', '');
  await tabTo(page, '[data-testid="theme-dark"]');
  await page.keyboard.press('Enter');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');

  // Settings, then every tab, each followed by Enter.
  await open(page, `${base}/settings/sites`);
  for (const path of ['/settings/monitors', '/settings/licences', '/settings/reporters']) {
    await tabTo(page, `a[href="${path}"]`);
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(`${base}${path}`);
    await expect(page.locator(`a[href="${path}"]`)).toHaveAttribute('aria-current', 'page', { timeout: 10_000 });
  }

  // Log out from the menu, and back in with Tab, typing and Enter.
  await tabTo(page, '[data-testid="account-menu"]');
  await page.keyboard.press('Enter');
  await tabTo(page, '.account-menu button.btn-block'); // Log out
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(`${base}/login`);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await tabTo(page, 'input[name="email"]');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('account-menu')).toBeVisible();
  await expect(page).toHaveURL(`${base}/`);
});
