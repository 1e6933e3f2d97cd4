import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startPushHarness, type PushBot, type PushHarness } from './push-harness.ts';

export interface PushE2eHooks {
  /** The bots started in the current test; stopped after it. */
  bots: PushBot[];
}

/**
 * The common setup of the push-ingestion files: one push harness per file (handed to `ready`),
 * the tenant's alerts and the connector's record cleared before each test, every bot a test
 * started stopped after it, the harness closed. A file adds its own resets in its own beforeEach.
 */
export function usePushE2e(ready: (h: PushHarness) => void): PushE2eHooks {
  let h: PushHarness | undefined;
  const bots: PushBot[] = [];
  beforeAll(async () => {
    h = await startPushHarness();
    ready(h);
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    h!.demo.tenant.alerts.clear();
    h!.connector.reset();
  });
  afterEach(async () => {
    for (const bot of bots.splice(0)) await bot.stop();
  });
  return { bots };
}
