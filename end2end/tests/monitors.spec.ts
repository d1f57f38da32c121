import { expect } from '@playwright/test';
import { createSite, open, signUp, test, uniqueEmail } from './helpers';
import { serverForThisFile } from './server';

const server = serverForThisFile();

/** A JSON batch of three-phase readings, one every `everyMs` (10 s, a common meter interval),
 * ending now. The monitor counts as online for three of its intervals after the last one. */
function readings(currents: [number, number, number][], everyMs = 10_000): string {
  const start = Date.now() - (currents.length - 1) * everyMs;
  return JSON.stringify({
    readings: currents.map((current_a, k) => ({
      ts: new Date(start + k * everyMs).toISOString(),
      current_a,
      voltage_v: [231, 230, 229],
    })),
  });
}

test('an installer adds a monitor, a device posts with its token, and the live graph and numbers follow', async ({ page, request }) => {
  const base = server().url;
  await signUp(page, base, uniqueEmail('installer-own'));
  const siteId = await createSite(page, base, { name: 'Villa Ek', fuse: '20' });

  // The site has no monitor yet.
  await expect(page.getByText('No live data yet')).toBeVisible();

  await open(page, `${base}/settings/monitors`);
  await page.getByLabel('Name').fill('Mains meter');
  await page.getByRole('button', { name: 'Add monitor' }).click();
  const panel = page.getByTestId('token-panel');
  await expect(panel).toBeVisible();
  const token = (await page.getByTestId('device-token').textContent())!.trim();
  expect(token).toMatch(/^amp_[A-Za-z0-9_-]{43}$/);
  const monitor = page.getByTestId('monitor');
  await expect(monitor).toHaveCount(1);
  await expect(monitor).toContainText('Mains meter');
  await expect(monitor).toContainText('Total consumption');
  await expect(monitor.getByTestId('monitor-status')).toHaveText('Never seen');
  const monitorId = Number((await panel.textContent())!.match(/Monitor id: (\d+)/)![1]);

  // The device posts with its token, like a meter would.
  const url = `${base}/api/v1/monitors/${monitorId}/readings`;
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const first = await request.post(url, { headers, data: readings([[8, 4, 2], [9.5, 4.2, 2.5]]) });
  expect(first.status()).toBe(200);

  // Server-rendered with what is stored so far: numbers, headroom against the 20 A fuse.
  await open(page, `${base}/sites/${siteId}`);
  const live = page.getByTestId('live-panel');
  await expect(live.getByTestId('current-l1')).toHaveText('9.5 A');
  await expect(live.getByTestId('headroom-l1')).toHaveText('headroom 10.5 A');
  await expect(live.getByTestId('current-l3')).toHaveText('2.5 A');
  await expect(live.getByTestId('monitor-status')).toContainText('Online');
  await expect(live.getByTestId('fuse-line')).toHaveCount(1);
  const line = live.getByTestId('line-l1');
  await expect(line).toHaveAttribute('d', /L/); // two points joined
  const before = await line.getAttribute('d');
  await expect(live.getByTestId('stream-state')).toHaveAttribute('data-live', 'true');

  // A new reading arrives: the page changes without a reload, through the event stream.
  const second = await request.post(url, { headers, data: readings([[17.26, 3, 1]]) });
  expect(second.status()).toBe(200);
  await expect(live.getByTestId('current-l1')).toHaveText('17.3 A');
  // The graph's text alternative: its label, and the per-phase numbers it points to.
  const describedBy = await live.getByTestId('live-graph').getAttribute('aria-describedby');
  await expect(page.locator(`#${describedBy}`)).toContainText('17.3 A');
  await expect(live.getByTestId('headroom-l1')).toHaveText('headroom 2.7 A');
  await expect(line).not.toHaveAttribute('d', before!);

  // A household with one site sees the same live panel on the overview.
  await open(page, `${base}/`);
  await expect(page.getByTestId('live-panel').getByTestId('current-l1')).toHaveText('17.3 A');

  // A wrong token changes nothing on the page.
  const refused = await request.post(url, {
    headers: { ...headers, Authorization: 'Bearer amp_wrong' },
    data: readings([[40, 40, 40]]),
  });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error).toContain('does not take this token');

  // History of the day has the readings; CSV is one click away.
  await page.getByTestId('live-panel').getByRole('link', { name: 'History' }).click();
  await expect(page.getByTestId('history-graph')).toBeVisible();
  await expect(page.getByTestId('csv-link')).toHaveAttribute('href', new RegExp(`/api/v1/monitors/${monitorId}/history.csv\\?view=day`));

  // Today is as late as it goes; a day back, "Later" returns to today's readings.
  await expect(page.getByTestId('history-next')).toHaveAttribute('aria-disabled', 'true');
  await page.getByRole('link', { name: '← Earlier' }).click();
  await expect(page).toHaveURL(/date=/);
  await page.getByTestId('history-next').click();
  await expect(page.getByTestId('history-graph')).toBeVisible();
  await expect(page.getByTestId('history-next')).toHaveAttribute('aria-disabled', 'true');
});

test.describe('in Swedish', () => {
  test.use({ locale: 'sv-SE' });

  test('numbers have a decimal comma', async ({ page, request }) => {
    const base = server().url;
    await signUp(page, base, uniqueEmail('sv-monitor'));
    await open(page, `${base}/settings/sites/new`);
    await page.getByLabel('Namn').fill('Villa Gran');
    await page.getByLabel('Huvudsäkring (A)').fill('16');
    await page.getByLabel('Elområde').selectOption('SE3');
    await page.getByRole('button', { name: 'Skapa anläggning' }).click();
    await expect(page.getByTestId('site-name')).toHaveText('Villa Gran');
    const siteId = Number(new URL(page.url()).pathname.split('/').pop());
    await open(page, `${base}/settings/monitors`);
    await page.getByLabel('Namn').fill('Huvudmätare');
    await page.getByRole('button', { name: 'Lägg till mätare' }).click();
    const token = (await page.getByTestId('device-token').textContent())!.trim();
    const monitorId = Number((await page.getByTestId('token-panel').textContent())!.match(/id: (\d+)/)![1]);
    const res = await request.post(`${base}/api/v1/monitors/${monitorId}/readings`, {
      headers: { Authorization: `Bearer ${token}` },
      data: readings([[12.34, 3, 1]]),
    });
    expect(res.status()).toBe(200);
    await open(page, `${base}/sites/${siteId}`);
    await expect(page.getByTestId('current-l1')).toHaveText('12,3 A');
    await expect(page.getByTestId('headroom-l1')).toHaveText('marginal 3,7 A');
  });
});
