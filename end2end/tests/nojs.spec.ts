// On one bar of 4G the wasm takes seconds; the forms a visitor meets first work before it has
// loaded (and without it): the browser posts them, the server answers with a page. Here with
// JavaScript off, so nothing but the plain form can do it (components.rs PostForm).
import { expect, Page } from '@playwright/test';
import { PASSWORD, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

/** Waits until the browser has posted the form to the server function `name` and had its answer. */
async function posted(page: Page, name: string, click: Promise<void>) {
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/${name}`);
  await click;
  expect((await answer).status(), `${name}: the server answers the plain form with a redirect`).toBe(302);
}

test('without JavaScript a household logs in, switches language and theme, and logs out', async ({ browser, page }) => {
  const email = uniqueEmail('nojs');
  await signUp(page, server().url, email);

  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
  const plain = await context.newPage();
  await plain.goto(`${server().url}/login`);
  await plain.locator('input[name="email"]').fill(email);
  await plain.locator('input[name="password"]').fill(PASSWORD);
  await posted(plain, 'log_in', plain.locator('form.stack button[type="submit"]').click());
  // Back to the login page, which sends a signed-in visitor on to the overview.
  await expect(plain).toHaveURL(`${server().url}/`);
  await expect(plain.getByTestId('account-menu'), 'signed in by the plain form').toBeVisible();

  await plain.getByTestId('account-menu').click();
  await posted(plain, 'set_language', plain.locator('.lang-switch button[value="sv"]').click());
  await expect(plain.locator('html')).toHaveAttribute('lang', 'sv');

  await plain.getByTestId('account-menu').click();
  await posted(plain, 'set_theme', plain.getByTestId('theme-dark').click());
  await expect(plain.locator('html')).toHaveAttribute('data-theme', 'dark');

  await plain.getByTestId('account-menu').click();
  await posted(plain, 'log_out', plain.locator('.menu-panel form:last-child button[type="submit"]').click());
  await expect(plain, 'signed out: the overview sends to the login page').toHaveURL(/\/login/);
  await context.close();
});
