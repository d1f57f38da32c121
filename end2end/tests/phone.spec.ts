// The phone experience: dark mode that follows the system and can be fixed in the account menu,
// every settings tab reachable on a 360 px screen, and what a home-screen app needs.
import { expect, Page } from '@playwright/test';
import { accountMenu, open, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
/** Dark when every channel of the page's background is low. */
const isDark = (rgb: string) => rgb.match(/\d+/g)!.slice(0, 3).every((c) => Number(c) < 60);

test.describe('in a dark system', () => {
  test.use({ colorScheme: 'dark' });

  test('the app is dark, and the account menu can make it light for good', async ({ page }) => {
    await signUp(page, server().url, uniqueEmail('anna'));
    expect(isDark(await background(page))).toBe(true);
    // The live graph's phase colours and the fuse line are the dark theme's (lighter) ones.
    const l1 = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--l1').trim());
    expect(l1).not.toBe('');

    await accountMenu(page);
    await page.getByTestId('theme-light').click();
    await expect(page.getByTestId('theme-light')).toHaveAttribute('aria-pressed', 'true');
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
    expect(isDark(await background(page))).toBe(false);
    // Kept across pages: the server renders the chosen theme.
    await open(page, `${server().url}/settings`);
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
    expect(isDark(await background(page))).toBe(false);

    await accountMenu(page);
    await page.getByTestId('theme-system').click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'system');
    expect(isDark(await background(page))).toBe(true);
  });
});

test('a light system gets the light app, and Dark can be chosen', async ({ page }) => {
  await signUp(page, server().url, uniqueEmail('bo'));
  expect(isDark(await background(page))).toBe(false);
  await accountMenu(page);
  await page.getByTestId('theme-dark').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(isDark(await background(page))).toBe(true);
});

test.describe('in Swedish on a 360 px phone', () => {
  test.use({ locale: 'sv-SE', viewport: { width: 360, height: 740 } });

  test('every settings tab is on screen, none cut off', async ({ page }) => {
    await signUp(page, server().url, uniqueEmail('cecilia'));
    await open(page, `${server().url}/settings`);
    const tabs = page.locator('.tabs a');
    const count = await tabs.count();
    expect(count).toBeGreaterThan(3);
    for (let i = 0; i < count; i += 1) {
      const box = (await tabs.nth(i).boundingBox())!;
      expect(box.x, await tabs.nth(i).innerText()).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, await tabs.nth(i).innerText()).toBeLessThanOrEqual(360);
    }
    await expect(page.getByRole('link', { name: 'Rapportörer' })).toBeInViewport();
  });
});

test('a home-screen app: a manifest with icons the browser can load', async ({ page, request }) => {
  await open(page, `${server().url}/login`);
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  const manifest = await (await request.get(`${server().url}${href}`)).json();
  expect(manifest.display).toBe('standalone');
  expect(manifest.start_url).toBe('/');
  const sizes = manifest.icons.map((i: { sizes: string }) => i.sizes);
  expect(sizes).toEqual(expect.arrayContaining(['192x192', '512x512']));
  for (const icon of manifest.icons) {
    const reply = await request.get(`${server().url}${icon.src}`);
    expect(reply.status(), icon.src).toBe(200);
    expect(reply.headers()['content-type'], icon.src).toBe(icon.type);
  }
});
