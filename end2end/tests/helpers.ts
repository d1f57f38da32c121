import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, Page, test as base } from '@playwright/test';

export const PASSWORD = 'Kvarnvägen-Laddbox-42';

let counter = 0;
/** An e-mail address no other test uses. */
export function uniqueEmail(who: string): string {
  counter += 1;
  return `${who}-${Date.now()}-${process.pid}-${counter}@example.se`;
}

const violations = new WeakMap<Page, string[]>();

/** What the page's Content-Security-Policy refused so far (the browser logs each refusal). */
export function cspViolations(page: Page): string[] {
  let seen = violations.get(page);
  if (!seen) {
    const list: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && m.text().includes('Content Security Policy')) list.push(m.text());
    });
    violations.set(page, list);
    seen = list;
  }
  return seen;
}

/** What killed the wasm during this test, on any page [open] watched: a Rust panic (a hydration
 * mismatch, say) or an uncaught error. After a panic nothing on the page answers any more. */
const wasmFailures: string[] = [];
const watched = new WeakSet<Page>();

function watchWasm(page: Page): void {
  if (watched.has(page)) return;
  watched.add(page);
  page.on('pageerror', (error) => wasmFailures.push(`${page.url()}: ${error.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes('panicked at')) {
      wasmFailures.push(`${page.url()}: ${m.text().split('\n').slice(0, 2).join(' ')}`);
    }
  });
}

/** Playwright's `test`, which also fails a test whose pages' wasm failed, even when what the test
 * looked at still showed (the page is drawn by the server; a dead wasm shows only on the next
 * click). */
export const test = base.extend<{ wasmDidNotFail: void }>({
  wasmDidNotFail: [
    async ({}, use) => {
      wasmFailures.length = 0;
      await use();
      expect(wasmFailures, 'the wasm failed (a panic or an uncaught error)').toEqual([]);
    },
    { auto: true },
  ],
});

/** Opens a page and waits until the wasm has hydrated it, so clicks go through the app; the
 * page's security policy refused nothing on the way. From then on a failure of the wasm on this
 * page fails the test. */
export async function open(page: Page, url: string): Promise<void> {
  watchWasm(page);
  const refused = cspViolations(page);
  await page.goto(url);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  expect(refused, 'Content-Security-Policy violations').toEqual([]);
}

/** Does `action` (a click on a link to a page of another bundle, a reload), which loads a new
 * page (app/src/bundle.rs), and waits until that page's wasm has hydrated it: the page before
 * it was hydrated too, so the old page is marked first and the wait is for an unmarked one. */
export async function loadsPage(page: Page, action: () => Promise<unknown>): Promise<void> {
  watchWasm(page);
  await page.evaluate(() => document.body.setAttribute('data-left', ''));
  await action();
  await expect(page.locator('body[data-hydrated="true"]:not([data-left])')).toHaveCount(1);
}

/** Holds back every wasm `page` asks for: the moment on a slow phone when a page shows but does
 * not answer yet. The function it returns lets the wasm through and waits until the page has
 * hydrated. */
export async function holdWasm(page: Page): Promise<() => Promise<void>> {
  let arrive = () => {};
  const held = new Promise<void>((resolve) => { arrive = resolve; });
  await page.route(/\.wasm$/, async (route) => { await held; await route.continue(); });
  return async () => {
    arrive();
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await page.unroute(/\.wasm$/);
  };
}

export async function signUp(page: Page, base: string, email: string, role: 'owner' | 'installer' = 'owner'): Promise<void> {
  await open(page, `${base}/signup`);
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator(`input[name="role"][value="${role}"]`).check();
  await page.locator('form.stack button[type="submit"]').click();
  await expect(page.getByTestId('account-menu')).toBeVisible();
}

/** Opens the account menu unless it is open already. */
const textKeys = Object.keys(JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'locales', 'en.json'), 'utf8')));

/** The page shows no text key in place of its text. A small bundle links only the texts listed
 * for it (app/texts/*.keys); a text it lacks would show as its key once the bundle draws it,
 * after a change of language, say. */
export async function expectNoTextKeys(page: Page): Promise<void> {
  const shown = await page.locator('body').innerText();
  expect(textKeys.filter((key) => shown.includes(key))).toEqual([]);
}

export async function accountMenu(page: Page): Promise<void> {
  if ((await page.locator('details.account-menu').getAttribute('open')) === null) {
    await page.getByTestId('account-menu').click();
  }
}

export interface SiteFields {
  name: string;
  address?: string;
  fuse?: string;
  area?: 'SE1' | 'SE2' | 'SE3' | 'SE4';
  /** An installer creates the site for this customer (their account's e-mail). */
  customer?: string;
}

/** Creates a site through the form (English labels); returns its id from the page it lands on. */
export async function createSite(page: Page, base: string, site: SiteFields): Promise<number> {
  await open(page, `${base}/settings/sites/new`);
  await page.getByLabel('Name', { exact: true }).fill(site.name);
  await page.getByLabel('Address', { exact: true }).fill(site.address ?? '');
  await page.getByLabel('Main fuse (A)').fill(site.fuse ?? '20');
  await page.getByLabel('Price area').selectOption(site.area ?? 'SE3');
  if (site.customer) await page.getByLabel("Customer's e-mail address").fill(site.customer);
  await page.getByRole('button', { name: 'Create site' }).click();
  await expect(page.getByTestId('site-name')).toHaveText(site.name);
  return Number(new URL(page.url()).pathname.split('/').pop());
}
