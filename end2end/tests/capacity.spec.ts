// Capacity tariffs (issue 22): the site's grid operator and tariff in Settings → Site, in both
// languages. The tariff list follows the chosen operator; the choice is kept across a reload.
// Then the overview's card (beside the charger's) counts the month under that operator's rule,
// live: a meter that has drawn 6.9 kW (10 A on three phases) this hour, then more. The site page
// has the same card. Then the peak guard is set, and both show the level it holds the hour under.
import { expect } from '@playwright/test';
import { accountMenu, expectNoTextKeys, open, signUp, test, uniqueEmail } from './helpers';
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
    title: 'Capacity charge this month',
    billed: '6.9 kW',
    later: '9.0 kW',
    cost: 'SEK 310.50',
    guard: 'Peak guard',
    guardCap: 'Never above a level',
    level: 'Level (kW)',
    levelError: 'Give the level in kW, e.g. 5 or 4.5.',
    capped: 'holds this hour under 4.5 kW',
    other: { language: 'Svenska', title: 'Effektavgift denna månad', capped: 'håller timmen under 4,5 kW' },
  },
  {
    locale: 'sv-SE',
    operator: 'Nätbolag',
    tariff: 'Tariff',
    save: 'Spara nätbolag',
    saved: 'Sparat.',
    usual: 'Den vanliga',
    title: 'Effektavgift denna månad',
    billed: '6,9 kW',
    later: '9,0 kW',
    cost: '310,50 kr',
    guard: 'Effektvakt',
    guardCap: 'Aldrig över en nivå',
    level: 'Nivå (kW)',
    levelError: 'Ange nivån i kW, t.ex. 5 eller 4,5.',
    capped: 'håller timmen under 4,5 kW',
    other: { language: 'English', title: 'Capacity charge this month', capped: 'holds this hour under 4.5 kW' },
  },
];

for (const c of cases) {
  test.describe(c.locale, () => {
    test.use({ locale: c.locale });

    test('the grid operator and its tariff are chosen and kept, and the overview and the site page count the month by its rule', async ({ page }) => {
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

      // The usual tariff counts every hour at 45 kr per kW.
      await operator.selectOption({ label: 'Göteborg Energi' });
      await tariff.selectOption({ label: c.usual });
      await form.getByRole('button', { name: c.save }).click();
      await expect(form.getByRole('status')).toHaveText(c.saved);
      const monitor = await page.request.post(`${base}/api/create_monitor`, {
        form: {
          'monitor[site_id]': String(id), 'monitor[name]': 'Mains', 'monitor[phases]': '3',
          'monitor[kind]': 'http',
        },
      });
      expect(monitor.status(), await monitor.text()).toBe(200);
      const { monitor_id, token } = await monitor.json();
      const post = async (amps: number, ts: Date) => {
        const posted = await page.request.post(`${base}/api/v1/monitors/${monitor_id}/readings`, {
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          data: JSON.stringify({ readings: [{ ts: ts.toISOString(), current_a: [amps, amps, amps] }] }),
        });
        expect(posted.status(), await posted.text()).toBe(200);
      };
      const first = new Date();
      await post(10, first);
      // The page's timers run on a clock the test moves (the card is read again every minute).
      await page.clock.install();
      await open(page, `${base}/`);
      const card = page.getByTestId('capacity');
      await expect(card.getByRole('heading')).toHaveText(c.title);
      await expect(card.getByTestId('capacity-billed')).toHaveText(c.billed);
      await expect(card.getByTestId('capacity-cost')).toHaveText(c.cost);
      await expect(card.getByTestId('capacity-peaks').locator('li')).toHaveCount(1);

      // 16 A more: the hour's mean becomes (6.9 + 11.04) / 2 kW, shown within the minute.
      await post(16, new Date(first.getTime() + 1000));
      await page.clock.runFor(61_000);
      await expect(card.getByTestId('capacity-billed')).toHaveText(c.later);
      await expect(card.getByTestId('capacity-guard')).toHaveCount(0);
      await open(page, `${base}/sites/${id}`);
      await expect(card.getByTestId('capacity-billed')).toHaveText(c.later);

      // The peak guard: a level that is not a number is refused by its field and changes
      // nothing; 4,5 (a Swedish comma) or 4.5 is kept.
      await open(page, `${base}/settings/sites/${id}`);
      await form.getByLabel(c.guard).selectOption({ label: c.guardCap });
      await form.getByLabel(c.level).fill('fem');
      await form.getByRole('button', { name: c.save }).click();
      await expect(form.getByRole('alert')).toHaveText(c.levelError);
      await expect(form.getByLabel(c.level)).toHaveAttribute('aria-invalid', 'true');
      await page.reload();
      await expect(form.getByLabel(c.guard)).toHaveValue('off');
      await form.getByLabel(c.guard).selectOption({ label: c.guardCap });
      await form.getByLabel(c.level).fill(c.locale === 'sv-SE' ? '4,5' : '4.5');
      await form.getByRole('button', { name: c.save }).click();
      await expect(form.getByRole('status')).toHaveText(c.saved);
      await page.reload();
      await expect(form.getByLabel(c.guard)).toHaveValue('cap');
      await expect(form.getByLabel(c.level)).toHaveValue('4.5');

      // Both cards say the level the guard holds this hour under.
      for (const path of [`/sites/${id}`, '/']) {
        await open(page, `${base}${path}`);
        await expect(card.getByTestId('capacity-billed')).toHaveText(c.later);
        await expect(card.getByTestId('capacity-guard')).toHaveText(c.capped);
      }
      // The overview's bundle has the card's texts in the other language too.
      await accountMenu(page);
      await page.getByRole('button', { name: c.other.language }).click();
      await expect(card.getByRole('heading')).toHaveText(c.other.title);
      await expect(card.getByTestId('capacity-guard')).toHaveText(c.other.capped);
      await expectNoTextKeys(page);
    });
  });
}
