// How fast the app becomes usable on a phone on a poor connection (issue 11's profile): Chromium
// with Slow 4G (1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT) and 4× CPU slowdown through the
// DevTools protocol. A benchmark, not a test: it prints medians of 5 for BENCHMARKS.md.
//
//   cd end2end && npx playwright test -c playwright.bench.config.ts
import { Browser, expect, Page, test } from '@playwright/test';
import { signUp, uniqueEmail } from '../tests/helpers';
import { serverForThisFile } from '../tests/server';

const server = serverForThisFile();
const RUNS = 5;

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

/** From navigation to the first click that works (hydrated), and the bytes it took. */
async function interactive(page: Page, url: string): Promise<{ ms: number; bytes: number }> {
  let bytes = 0;
  page.on('response', (r) => {
    bytes += Number(r.headers()['content-length'] ?? 0);
  });
  const start = Date.now();
  await page.goto(url, { waitUntil: 'commit' });
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 60_000 });
  return { ms: Date.now() - start, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(browser: Browser, path: string, cookie?: string) {
  const cold: number[] = [];
  const warm: number[] = [];
  let coldBytes = 0;
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext();
    if (cookie) {
      const url = new URL(server().url);
      await context.addCookies([{ name: cookie.split('=')[0], value: cookie.split('=')[1], domain: url.hostname, path: '/' }]);
    }
    const page = await context.newPage();
    await throttle(page);
    const first = await interactive(page, `${server().url}${path}`);
    cold.push(first.ms);
    coldBytes = first.bytes;
    const again = await context.newPage();
    await throttle(again);
    warm.push((await interactive(again, `${server().url}${path}`)).ms);
    await context.close();
  }
  return { path, cold: median(cold), warm: median(warm), coldRuns: cold, warmRuns: warm, coldBytes };
}

test('first load on slow 4G with a 4× slower CPU', async ({ browser, page }) => {
  test.setTimeout(600_000);
  await signUp(page, server().url, uniqueEmail('anna'));
  const session = (await page.context().cookies()).find((c) => c.name === 'ampwise_session')!;
  const rows = [
    await measure(browser, '/login'),
    await measure(browser, '/', `${session.name}=${session.value}`),
  ];
  for (const r of rows) {
    console.log(`${r.path}: interactive cold p50 ${r.cold} ms (${r.coldRuns.join(', ')}), warm p50 ${r.warm} ms (${r.warmRuns.join(', ')}), ${r.coldBytes} B over the wire cold`);
  }
});
