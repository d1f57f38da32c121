import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// Benchmarks (not run by the test command): one phone-sized Chromium, one worker, and no
// Playwright trace: its DOM snapshotter runs in the page and took main-thread time the
// measured pages then lacked.
export default defineConfig({
  ...base,
  testDir: './bench',
  workers: 1,
  projects: [{ name: 'bench', use: { ...base.use, trace: 'off', viewport: { width: 360, height: 740 } } }],
});
