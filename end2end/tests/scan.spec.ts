import { chromium, expect } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open, signUp, test, uniqueEmail } from './helpers';
import { qrY4m } from './qr';
import { serverForThisFile } from './server';

const server = serverForThisFile();
let dir: string;
test.beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ampwise-scan-'));
});
test.afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test.use({ locale: 'en-GB' });

const redeemed = 'License redeemed: Charge Amps integration is now active on your account.';

/** The QR decoder's files (qr-decoder: a wasm the page loads when the browser cannot read a
 * code itself) that `page` has asked for so far. */
function decoderRequests(page: import('@playwright/test').Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/pkg/ampwise-qr-')) seen.push(r.url()); });
  return seen;
}

/** A photo (PNG) of the operator's printed A4 sheet (SVG, rendered by the browser); its first code. */
async function photographSheet(page: import('@playwright/test').Page, name: string, viewport: { width: number; height: number }) {
  const prefix = path.join(dir, name);
  const [code] = server().cli('licences', 'mint', '--sheet', prefix).trim().split('\n');
  const photo = path.join(dir, `${name}.png`);
  await page.setViewportSize({ width: 794, height: 1123 });
  await page.goto(`file://${prefix}-1.svg`);
  await page.screenshot({ path: photo });
  await page.setViewportSize(viewport);
  return { code, photo };
}

function mintLink(): { code: string; link: string } {
  const [code] = server().cli('licences', 'mint').trim().split('\n');
  return { code, link: `${server().url}/settings/licences?code=${code}` };
}

test('redeem by a photo of the printed sheet', async ({ page }, testInfo) => {
  const { code, photo } = await photographSheet(page, `sheet-${testInfo.project.name}`, testInfo.project.use.viewport!);
  const decoder = decoderRequests(page);
  await signUp(page, server().url, uniqueEmail('photo'), 'installer');
  await open(page, `${server().url}/settings/licences`);
  expect(decoder, 'the page loads without the QR decoder').toEqual([]);
  await page.getByTestId('scan-photo').setInputFiles(photo);
  await expect(page.getByRole('status')).toHaveText(redeemed);
  await expect(page.getByTestId('licences')).toContainText(code);
  expect(decoder.length, 'Debian\'s Chromium has no QR reader of its own: ours was loaded').toBeGreaterThan(0);
});

test('when the QR decoder cannot be loaded it says so, and the next photo loads it', async ({ page }, testInfo) => {
  const { code, photo } = await photographSheet(page, `offline-${testInfo.project.name}`, testInfo.project.use.viewport!);
  await signUp(page, server().url, uniqueEmail('offline'), 'installer');
  await open(page, `${server().url}/settings/licences`);
  // The connection drops just as the installer takes the photo.
  await page.route('**/pkg/ampwise-qr-*', (route) => route.abort('internetdisconnected'));
  await page.getByTestId('scan-photo').setInputFiles(photo);
  await expect(page.getByTestId('scan-error')).toHaveText(
    'The QR code reader could not be loaded. Check the connection and try again, or type the code.',
  );
  await page.unroute('**/pkg/ampwise-qr-*');
  await page.getByTestId('scan-photo').setInputFiles(photo);
  await expect(page.getByRole('status')).toHaveText(redeemed);
  await expect(page.getByTestId('licences')).toContainText(code);
});

test('a photo without a QR code says so', async ({ page }) => {
  // A picture, but of nothing: one grey pixel.
  const blank = path.join(dir, 'blank.png');
  fs.writeFileSync(blank, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAWk1v8QAAAABJRU5ErkJggg==', 'base64'));
  await signUp(page, server().url, uniqueEmail('blank'), 'installer');
  await open(page, `${server().url}/settings/licences`);
  await page.getByTestId('scan-photo').setInputFiles(blank);
  await expect(page.getByTestId('scan-error')).toHaveText(
    'No QR code was found in the photo. Take it closer, straight on and in good light.',
  );
});

test("where the browser has its own QR reader (BarcodeDetector), it reads the photo", async ({ page }) => {
  // Debian's Chromium has no BarcodeDetector (Android, macOS and ChromeOS do): this one stands
  // in for the browser's, and sees the code in a photo the wasm's decoder finds nothing in.
  const { code, link } = mintLink();
  await page.addInitScript((text) => {
    (window as any).BarcodeDetector = class {
      constructor(options: { formats: string[] }) {
        (window as any).detectorFormats = options.formats;
      }
      async detect() {
        return [{ rawValue: text, format: 'qr_code' }];
      }
    };
  }, link);
  const blank = path.join(dir, 'native-blank.png');
  fs.writeFileSync(blank, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAWk1v8QAAAABJRU5ErkJggg==', 'base64'));
  const decoder = decoderRequests(page);
  await signUp(page, server().url, uniqueEmail('native'), 'installer');
  await open(page, `${server().url}/settings/licences`);
  await page.getByTestId('scan-photo').setInputFiles(blank);
  await expect(page.getByRole('status')).toHaveText(redeemed);
  await expect(page.getByTestId('licences')).toContainText(code);
  expect(await page.evaluate(() => (window as any).detectorFormats)).toEqual(['qr_code']);
  expect(decoder, 'a browser that reads QR codes itself never downloads ours').toEqual([]);
});

test('redeem by the camera', async ({}, testInfo) => {
  const { code, link } = mintLink();
  const video = path.join(dir, `camera-${testInfo.project.name}.y4m`);
  qrY4m(link, video);
  const launch = testInfo.project.use.launchOptions!;
  const browser = await chromium.launch({
    ...launch,
    args: [
      ...(launch.args ?? []),
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ],
  });
  const context = await browser.newContext({ locale: 'en-GB', viewport: testInfo.project.use.viewport });
  const page = await context.newPage();
  await signUp(page, server().url, uniqueEmail('camera'), 'installer');
  await open(page, `${server().url}/settings/licences`);
  await page.getByRole('button', { name: 'Scan with the camera' }).click();
  await expect(page.getByRole('status')).toHaveText(redeemed);
  await expect(page.getByTestId('licences')).toContainText(code);
  // The camera is switched off once the code is read.
  await expect(page.getByTestId('viewfinder')).toBeHidden();
  await browser.close();
});

test('a refused camera says what to do instead', async ({ page }) => {
  // Playwright's Chromium denies the camera unless permission is granted.
  await signUp(page, server().url, uniqueEmail('nocam'), 'installer');
  await open(page, `${server().url}/settings/licences`);
  await page.getByRole('button', { name: 'Scan with the camera' }).click();
  await expect(page.getByTestId('scan-error')).toHaveText(
    /^(Ampwise may not use the camera\.|No camera was found\.)/,
  );
});
