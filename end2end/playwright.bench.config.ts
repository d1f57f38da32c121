import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// Benchmarks (not run by the test command): one desktop-sized Chromium, one worker.
export default defineConfig({
  ...base,
  testDir: './bench',
  workers: 1,
  projects: [{ name: 'bench', use: { ...base.use, viewport: { width: 360, height: 740 } } }],
});
