import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/**
 * Debian's chromium driven by playwright-core: never a browser a test tool downloads, never a
 * byte off the machine (no sync, no component updates, no QUIC, fonts CDN blocked).
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export interface LocalBrowser {
  browser: Browser;
  context: BrowserContext;
  /** Requests the page tried to send off the machine (blocked). */
  blocked: string[];
  close(): Promise<void>;
}

/** Loopback hosts the page may reach; everything else is aborted and recorded. */
function isLoopback(url: string): boolean {
  try {
    const { hostname, protocol } = new URL(url);
    if (protocol === 'data:' || protocol === 'blob:') return true;
    return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
  } catch {
    return false;
  }
}

export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<LocalBrowser> {
  if (!chromiumInstalled()) throw new Error(`chromium not found at ${CHROMIUM_PATH} (apt-get install chromium)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    // playwright-core makes a fresh, throw-away profile directory for every launch().
    args: [...CHROMIUM_ARGS],
    headless: true,
  });
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } });
  const blocked: string[] = [];
  // The playground UI asks a fonts CDN (and possibly more): nothing leaves the machine.
  await context.route(
    (url) => !isLoopback(url.toString()),
    (route) => {
      blocked.push(route.request().url());
      return route.abort();
    },
  );
  return {
    browser,
    context,
    blocked,
    async close() {
      await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}
