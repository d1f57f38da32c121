// Every page of the app passes axe-core with no serious or critical violation, in both themes
// and both languages.
import AxeBuilder from '@axe-core/playwright';
import { expect, Page } from '@playwright/test';
import { createSite, open, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

for (const colorScheme of ['light', 'dark'] as const) {
  for (const [locale, lang] of [['en-GB', 'en'], ['sv-SE', 'sv']]) {
    test.describe(`${colorScheme}, ${locale}`, () => {
      test.use({ colorScheme });

      test('every page passes axe-core', async ({ page, browser }) => {
        test.setTimeout(120_000);
        const signedOut = await (await browser.newContext({ colorScheme, locale })).newPage();
        const pages: [Page, string][] = [[signedOut, '/login'], [signedOut, '/signup']];
        // Set up in English (the helpers' labels), then read every page in the language.
        await signUp(page, server().url, uniqueEmail('ida'), 'installer');
        const site = await createSite(page, server().url, { name: 'Villa Ek', customer: uniqueEmail('anna') });
        await open(page, `${server().url}/settings/monitors`);
        await page.getByLabel('Name').fill('Mains meter');
        await page.getByRole('button', { name: 'Add monitor' }).click();
        const monitor = Number((await page.getByTestId('token-panel').textContent())!.match(/Monitor id: (\d+)/)![1]);
        await page.context().addCookies([{ name: 'lang', value: lang, url: server().url }]);
        for (const path of ['/', `/sites/${site}`, '/settings', `/settings/sites/${site}`, '/settings/sites/new',
          '/settings/monitors', `/monitors/${monitor}/history`, '/settings/licences', '/settings/reporters',
          '/settings/reporters/new', `/settings/reporters/new?site=${site}`]) {
          pages.push([page, path]);
        }
        const found: string[] = [];
        for (const [p, path] of pages) {
          await open(p, `${server().url}${path}`);
          for (const v of await violations(p)) found.push(`${path}: ${v}`);
        }
        expect(found).toEqual([]);
      });
    });
  }
}
