import { configDefaults, defineConfig } from 'vitest/config';

// Most of the suite waits (Wait states, refreshes, a real-time minute of budget windows) rather
// than computes: two files at a time keep both of a CI machine's cores busy. The files that run
// the state machine at scale stay within their timing margins with one neighbour.
export default defineConfig({
  test: {
    maxWorkers: 2,
    // The browser tests need Chromium: `npm run test:browser` (vitest.browser.config.ts).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
  },
});
