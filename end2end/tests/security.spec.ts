// What the second security review found in the browser: names that broke out of the page's
// title, and a log-in link that sent the browser to another host.
import { expect } from '@playwright/test';
import { createSite, open, PASSWORD, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

test.use({ locale: 'en-GB' });

/** A name that ends the title, redirects everyone who opens the page, and runs a script. */
const HOSTILE = '</title><meta http-equiv=refresh content=0;url=https://evil.example><script>alert(1)</script>';

test('hostile names stay text on every page, in both languages, and the page hydrates', async ({ page, context }) => {
  await signUp(page, server().url, uniqueEmail('hostile'));
  const site = await createSite(page, server().url, { name: HOSTILE });
  const monitor = await page.request.post(`${server().url}/api/create_monitor`, {
    form: {
      'monitor[site_id]': String(site),
      'monitor[name]': HOSTILE,
      'monitor[phases]': '3',
      'monitor[kind]': 'http',
    },
  });
  expect(monitor.status()).toBe(200);
  const monitorId = (await monitor.json()).monitor_id;
  const pages = [
    ['/', 'Overview'],
    [`/sites/${site}`, HOSTILE],
    [`/monitors/${monitorId}/history`, null],
    ['/settings/sites', null],
    [`/settings/sites/${site}`, null],
    ['/settings/monitors', null],
    ['/settings/reporters/new', null],
  ] as const;
  let dialogs = 0;
  page.on('dialog', async (d) => {
    dialogs += 1;
    await d.dismiss();
  });
  for (const lang of ['en', 'sv']) {
    await context.addCookies([{ name: 'lang', value: lang, url: server().url }]);
    for (const [path, title] of pages) {
      await open(page, `${server().url}${path}`);
      expect(new URL(page.url()).origin, `${path} (${lang})`).toBe(server().url);
      const shown = await page.title();
      expect(shown, `${path} (${lang})`).toMatch(/ · Ampwise$/);
      if (title === HOSTILE) expect(shown).toBe(`${HOSTILE} · Ampwise`);
      await expect(page.locator('head meta[http-equiv]')).toHaveCount(0);
    }
    await open(page, `${server().url}/sites/${site}`);
    await expect(page.getByTestId('site-name')).toHaveText(HOSTILE);
  }
  expect(dialogs, 'a script from a name ran').toBe(0);
});

/** `next` values that a browser might resolve to another host, and where each must end. */
const NEXT_CASES: [name: string, next: string, lands: string][] = [
  ['dot segment then slash', '/.//evil.example/x', '/'],
  ['encoded dot segment', '/%2e//evil.example/x', '/'],
  ['protocol relative', '//evil.example/phish', '/'],
  ['backslash', '/\\evil.example', '/'],
  ['encoded backslash', '/%5Cevil.example', '/'],
  ['encoded slash', '/%2F/evil.example', '/'],
  ['tab', '/\t/evil.example', '/'],
  ['newline', '/\n/evil.example', '/'],
  ['absolute', 'https://evil.example/', '/'],
  ['at sign', '//user@evil.example/', '/'],
  ['a page of ours with dots', '/settings/../settings/licences', '/settings/licences'],
];

for (const [name, next, lands] of NEXT_CASES) {
  test(`after log-in, next=${JSON.stringify(next)} (${name}) stays on our site`, async ({ browser, request }) => {
    const email = uniqueEmail('next');
    const made = await request.post(`${server().url}/api/sign_up`, {
      form: { email, password: PASSWORD, role: 'owner' },
    });
    expect(made.status()).toBe(200);
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await open(page, `${server().url}/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('E-mail address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    const url = new URL(page.url());
    expect(url.origin).toBe(server().url);
    expect(url.pathname).toBe(lands);
    await context.close();
  });
}
