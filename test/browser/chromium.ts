// The browser the page tests drive: Debian's Chromium (or any Chrome) through playwright-core,
// which brings no browser of its own.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const DEFAULT_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** CHROMIUM_PATH, else an installed Chromium or Chrome; a clear error saying how to get one otherwise. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const given = env['CHROMIUM_PATH'];
  if (given) {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH is ${given}, which does not exist: point it at a Chrome or Chromium executable`);
    return given;
  }
  const found = DEFAULT_PATHS.find((p) => existsSync(p));
  if (found) return found;
  throw new Error(
    `npm run test:browser needs Chromium and found none at ${DEFAULT_PATHS.join(', ')}: install it (on Debian or Ubuntu, as root: apt-get install chromium), ` +
      'or set CHROMIUM_PATH to a Chrome or Chromium executable (e.g. CHROMIUM_PATH="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")',
  );
}

export async function launchChromium(): Promise<Browser> {
  // Chromium refuses its sandbox to root (CI runs as root in a container).
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: root ? ['--no-sandbox'] : [] });
}
