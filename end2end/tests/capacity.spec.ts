// Capacity tariffs (issue 22): the site's grid operator and tariff in Settings → Site, in both
// languages. The tariff list follows the chosen operator; the choice is kept across a reload.
import { expect } from '@playwright/test';
import { open, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

const cases = [
  {
    locale: 'en-GB',
    operator: 'Grid operator',
    tariff: 'Tariff',
    save: 'Save grid operator',
    saved: 'Saved.',
    usual: 'The usual one',
  },
  {
    locale: 'sv-SE',
    operator: 'Nätbolag',
    tariff: 'Tariff',
    save: 'Spara nätbolag',
    saved: 'Sparat.',
    usual: 'Den vanliga',
  },
];

for (const c of cases) {
  test.describe(c.locale, () => {
    test.use({ locale: c.locale });

    test('the grid operator and its tariff are chosen and kept', async ({ page }) => {
      const base = server().url;
      await signUp(page, base, uniqueEmail('grid'));
      const created = await page.request.post(`${base}/api/create_site`, {
        form: {
          'site[name]': 'Villa Nät', 'site[address]': '', 'site[time_zone]': 'Europe/Stockholm',
          'site[price_area]': 'SE3', 'site[main_fuse_a]': '20',
        },
      });
      expect(created.status(), await created.text()).toBe(200);
      const id: number = await created.json();
      await open(page, `${base}/settings/sites/${id}`);
      const form = page.getByTestId('site-grid');
      const operator = form.getByLabel(c.operator);
      const tariff = form.getByLabel(c.tariff);
      await expect(tariff.locator('option')).toHaveText([c.usual]);

      await operator.selectOption({ label: 'Göteborg Energi' });
      // The tariffs follow the operator.
      await expect(tariff.locator('option')).toContainText(['Standard', 'Tidsbaserad, 14 kW']);
      await tariff.selectOption({ label: 'Tidsbaserad, 14 kW' });
      await form.getByRole('button', { name: c.save }).click();
      await expect(form.getByRole('status')).toHaveText(c.saved);

      await page.reload();
      await expect(operator).toHaveValue('goteborg-energi');
      await expect(tariff).toHaveValue('Tidsbaserad, 14 kW');
    });
  });
}
