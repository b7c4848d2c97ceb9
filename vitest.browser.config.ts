import { defineConfig } from 'vitest/config';

// `npm run test:browser`: the tests that drive a real browser (Chromium through playwright-core,
// see test/browser/chromium.ts). Kept out of `npm test`, which must pass on a machine without one.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
