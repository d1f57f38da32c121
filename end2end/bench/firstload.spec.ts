// How fast the app becomes usable on a phone on a poor connection (issue 11's profile): Chromium
// with Slow 4G (1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT) and 4× CPU slowdown through the
// DevTools protocol. A benchmark, not a test: it prints medians of 5 for BENCHMARKS.md.
//
//   cd end2end && npx playwright test -c playwright.bench.config.ts
//
// RUNS=N changes the 5; BREAKDOWN=1 also prints, per load, when the HTML and each file arrived
// (and whether from the cache: 0 B) and when the page was hydrated, in the page's own clock.
import { APIRequestContext, Browser, expect, Page, test } from '@playwright/test';
import { createSite, open, PASSWORD, signUp, uniqueEmail } from '../tests/helpers';
import { serverForThisFile } from '../tests/server';

const server = serverForThisFile();
const RUNS = Number(process.env.RUNS ?? 5);

async function throttle(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
}

/** Marks, in the page's own clock (epoch ms, as precise as `performance.now()`), the moment each
 * milestone is first seen: the live graph drawn, the wasm hydrated (the first click works) and the
 * graph's stream connected. Read by `milestones`. (The earlier figures were when Playwright's
 * `expect` saw each milestone; it retries at growing intervals, up to every 500 ms, from the
 * test runner, so they were late by up to half a second.) */
function markMilestones(graph: boolean) {
  const now = () => performance.timeOrigin + performance.now();
  const w = window as unknown as Record<string, number | undefined>;
  // As little work per mutation as will do: the observer runs on the page's own main thread.
  const observer = new MutationObserver(() => {
    if (graph && w.__drawn === undefined) {
      const line = document.querySelector('[data-testid="line-l1"]');
      if (line && /L/.test(line.getAttribute('d') ?? '')) w.__drawn = now();
    }
    if (w.__hydrated === undefined) {
      if (document.body?.getAttribute('data-hydrated') === 'true') w.__hydrated = now();
    } else if (graph && w.__live === undefined) {
      if (document.querySelector('[data-testid="stream-state"]')?.getAttribute('data-live') === 'true') w.__live = now();
    }
    if (w.__hydrated !== undefined && (!graph || (w.__drawn !== undefined && w.__live !== undefined))) observer.disconnect();
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

interface Milestones {
  ms: number;
  bytes: number;
  drawn?: number;
  live?: number;
}

/** Waits for the page's milestones (hydrated, and with a graph also drawn and live) and returns
 * each as milliseconds since `start`, with the bytes the page's responses declared. */
async function milestones(page: Page, start: number, bytes: () => number, graph: boolean): Promise<Milestones> {
  const want = graph ? ['__hydrated', '__drawn', '__live'] : ['__hydrated'];
  const at = await page.waitForFunction(
    (keys) => {
      const w = window as unknown as Record<string, number | undefined>;
      return keys.every((k) => w[k] !== undefined) && Object.fromEntries(keys.map((k) => [k, w[k]!]));
    },
    want,
    { timeout: 60_000 },
  );
  const t = (await at.jsonValue()) as Record<string, number>;
  if (process.env.BREAKDOWN) {
    const b = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const r = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => `${e.name.split('/').pop()} ${Math.round(e.startTime)}-${Math.round(e.responseEnd)} (${e.transferSize} B)`);
      return { html: `${Math.round(n.requestStart)}/${Math.round(n.responseStart)}/${Math.round(n.responseEnd)} dcl ${Math.round(n.domContentLoadedEventEnd)} load ${Math.round(n.loadEventEnd)}`, r, origin: performance.timeOrigin };
    });
    console.log(`  nav +${Math.round(b.origin - start)}: html ${b.html}; ${b.r.join('; ')}; hydrated ${Math.round(t.__hydrated - b.origin)}`);
  }
  const since = (k: string) => (t[k] === undefined ? undefined : Math.round(t[k] - start));
  return { ms: since('__hydrated')!, bytes: bytes(), drawn: since('__drawn'), live: since('__live') };
}

/** From navigation to the first click that works (hydrated), and the bytes it took; with a live
 * graph on the page, also until it is drawn (server-rendered) and live (its stream open). */
async function interactive(page: Page, url: string, graph = false): Promise<Milestones> {
  let bytes = 0;
  page.on('response', (r) => {
    bytes += Number(r.headers()['content-length'] ?? 0);
  });
  const start = Date.now();
  await page.goto(url, { waitUntil: 'commit' });
  return milestones(page, start, () => bytes, graph);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(browser: Browser, path: string, cookie?: string, graph = false) {
  const cold: number[] = [];
  const warm: number[] = [];
  const drawn: number[] = [];
  const live: number[] = [];
  let coldBytes = 0;
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext();
    await context.addInitScript(markMilestones, graph);
    if (cookie) {
      const url = new URL(server().url);
      await context.addCookies([{ name: cookie.split('=')[0], value: cookie.split('=')[1], domain: url.hostname, path: '/' }]);
    }
    const page = await context.newPage();
    await throttle(page);
    const first = await interactive(page, `${server().url}${path}`, graph);
    cold.push(first.ms);
    if (first.drawn !== undefined) drawn.push(first.drawn);
    if (first.live !== undefined) live.push(first.live);
    coldBytes = first.bytes;
    const again = await context.newPage();
    await throttle(again);
    warm.push((await interactive(again, `${server().url}${path}`)).ms);
    await context.close();
  }
  const graphs = graph ? `; live graph drawn p50 ${median(drawn)} ms (${drawn.join(', ')}), live p50 ${median(live)} ms (${live.join(', ')})` : '';
  return { path, cold: median(cold), warm: median(warm), coldRuns: cold, warmRuns: warm, coldBytes, graphs };
}

/** Signs a household up with a site, a monitor and a minute of readings; its session cookie and
 * site. */
async function household(page: Page, request: APIRequestContext, email: string): Promise<{ cookie: string; site: number }> {
  const base = server().url;
  await signUp(page, base, email);
  const site = await createSite(page, base, { name: 'Villa Ek', fuse: '20' });
  await open(page, `${base}/settings/monitors`);
  await page.getByLabel('Name').fill('Mains meter');
  await page.getByRole('button', { name: 'Add monitor' }).click();
  const token = (await page.getByTestId('device-token').textContent())!.trim();
  const monitorId = Number((await page.getByTestId('token-panel').textContent())!.match(/Monitor id: (\d+)/)![1]);
  const start = Date.now() - 60_000;
  const readings = Array.from({ length: 7 }, (_, k) => ({
    ts: new Date(start + k * 10_000).toISOString(),
    current_a: [8 + k, 4, 2],
    voltage_v: [231, 230, 229],
  }));
  const posted = await request.post(`${base}/api/v1/monitors/${monitorId}/readings`, {
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    data: JSON.stringify({ readings }),
  });
  expect(posted.status()).toBe(200);
  const session = (await page.context().cookies()).find((c) => c.name === 'ampwise_session')!;
  return { cookie: `${session.name}=${session.value}`, site };
}

/** A first visit that logs in (cold cache): from pressing "Log in" to the overview's graph
 * drawn, and to it being live (the overview's bundle loaded, hydrated, its stream open). */
async function afterLogin(browser: Browser, request: APIRequestContext, firstEmail: string) {
  let email = firstEmail;
  const drawn: number[] = [];
  const live: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    // The server lets one account log in 5 times at once from one address: a new household for
    // every 5 runs.
    if (i > 0 && i % 5 === 0) {
      email = uniqueEmail('graph');
      const setUp = await browser.newContext();
      await household(await setUp.newPage(), request, email);
      await setUp.close();
    }
    const context = await browser.newContext();
    await context.addInitScript(markMilestones, true);
    const page = await context.newPage();
    await throttle(page);
    await page.goto(`${server().url}/login`);
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 60_000 });
    await page.locator('input[name="email"]').fill(email);
    await page.locator('input[name="password"]').fill(PASSWORD);
    const start = Date.now();
    await Promise.all([page.waitForURL(`${server().url}/`, { timeout: 60_000 }), page.locator('form.stack button[type="submit"]').click()]);
    const at = await milestones(page, start, () => 0, true);
    drawn.push(at.drawn!);
    live.push(at.live!);
    await context.close();
  }
  return `after pressing Log in (cold cache): live graph drawn p50 ${median(drawn)} ms (${drawn.join(', ')}), live p50 ${median(live)} ms (${live.join(', ')})`;
}

test('first load on slow 4G with a 4× slower CPU', async ({ browser, page, request }) => {
  test.setTimeout(900_000);
  const email = uniqueEmail('graph');
  const { cookie, site } = await household(page, request, email);
  const rows = [
    await measure(browser, '/login'),
    await measure(browser, '/', cookie, true),
    await measure(browser, `/sites/${site}`, cookie),
    await measure(browser, '/settings/sites', cookie),
    await measure(browser, '/settings/monitors', cookie),
    await measure(browser, '/settings/licences', cookie),
    await measure(browser, '/settings/reporters', cookie),
    await measure(browser, '/settings/reporters/new', cookie),
  ];
  for (const r of rows) {
    console.log(`${r.path}: interactive cold p50 ${r.cold} ms (${r.coldRuns.join(', ')}), warm p50 ${r.warm} ms (${r.warmRuns.join(', ')}), ${r.coldBytes} B over the wire cold${r.graphs}`);
  }
  console.log(await afterLogin(browser, request, email));
});
