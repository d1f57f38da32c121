// What a phone downloads on its first visit (cold cache) to a page: the wasm, JS and CSS as
// served (brotli), counted from the browser's own network records. It fails above the budget, so
// the bundles cannot creep back (issue 11; app/src/bundle.rs).
import { Browser, expect } from '@playwright/test';
import { open, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

/** Bytes (as sent: compressed) a first visit to `path` downloads of /pkg/*.wasm, *.js, *.css. */
async function firstLoad(browser: Browser, path: string, cookies: Parameters<import('@playwright/test').BrowserContext['addCookies']>[0] = []) {
  const context = await browser.newContext();
  await context.addCookies(cookies);
  const page = await context.newPage();
  const files: { url: string; bytes: number; encoding: string }[] = [];
  page.on('requestfinished', async (request) => {
    const url = new URL(request.url());
    if (!url.pathname.startsWith('/pkg/') || !/\.(wasm|js|css)$/.test(url.pathname)) return;
    const response = await request.response();
    const sizes = await request.sizes();
    files.push({ url: url.pathname, bytes: sizes.responseBodySize, encoding: response?.headers()['content-encoding'] ?? '' });
  });
  await page.goto(`${server().url}${path}`);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.waitForLoadState('networkidle');
  await context.close();
  return files;
}

// Issue 11 asks 250 KB for the two pages everyone opens first; issue 24 the same of every page.
// Each bundle has a case (app/src/bundle.rs: `Bundle::ALL`); the pages with an id are drawn for
// one that is not the visitor's (what loads is the same: the page and its error state).
const cases = [
  { name: 'log in', path: '/login', signedIn: false, bundle: 'login' },
  { name: 'overview', path: '/', signedIn: true, bundle: 'home' },
  { name: 'licences (camera)', path: '/settings/licences', signedIn: true, bundle: 'licences' },
  { name: 'the reporter wizard', path: '/settings/reporters/new', signedIn: true, bundle: 'wizard' },
  { name: 'reporters', path: '/settings/reporters', signedIn: true, bundle: 'reporters' },
  { name: 'sites settings', path: '/settings/sites', signedIn: true, bundle: 'sites' },
  { name: 'monitors settings', path: '/settings/monitors', signedIn: true, bundle: 'monitors' },
  { name: 'a site', path: '/sites/1', signedIn: true, bundle: 'site' },
  { name: "a monitor's history", path: '/monitors/1/history', signedIn: true, bundle: 'history' },
  { name: 'a page that does not exist', path: '/nowhere', signedIn: true, bundle: 'other' },
].map((c) => ({ ...c, budget: 250_000, bundle: new RegExp(`^/pkg/ampwise-${c.bundle}-`) }));

for (const c of cases) {
  test(`a first visit to ${c.name} downloads at most ${c.budget / 1000} KB of code and style`, async ({ browser, page }) => {
    let cookies: Awaited<ReturnType<import('@playwright/test').BrowserContext['cookies']>> = [];
    if (c.signedIn) {
      await signUp(page, server().url, uniqueEmail('budget'));
      cookies = await page.context().cookies();
    }
    const files = await firstLoad(browser, c.path, cookies);
    const wasm = files.filter((f) => f.url.endsWith('.wasm'));
    expect(wasm.map((f) => f.url), 'one wasm, the small bundle of this page').toEqual([expect.stringMatching(c.bundle)]);
    for (const f of files) expect(f.encoding, `${f.url} is sent compressed`).toBe('br');
    const total = files.reduce((sum, f) => sum + f.bytes, 0);
    console.log(`${c.name}: ${total} B in ${files.length} files (${files.map((f) => `${f.url} ${f.bytes}`).join(', ')})`);
    expect(total, `${c.name}: brotli bytes of wasm + JS + CSS`).toBeLessThanOrEqual(c.budget);
  });
}

// The page's loader compiles the wasm as it streams in, which needs `Content-Type:
// application/wasm`. A proxy on the way that labels it otherwise must cost speed, not the app.
test('the app starts when a proxy serves its wasm with another content type', async ({ page }) => {
  let relabelled = 0;
  await page.route('**/pkg/*_bg.wasm', async (route) => {
    const response = await route.fetch();
    const headers: Record<string, string> = { ...response.headers(), 'content-type': 'application/octet-stream' };
    // The body Playwright hands over is already decoded.
    delete headers['content-encoding'];
    delete headers['content-length'];
    relabelled += 1;
    await route.fulfill({ response, headers, body: await response.body() });
  });
  await open(page, `${server().url}/login`);
  expect(relabelled).toBeGreaterThan(0);
});
