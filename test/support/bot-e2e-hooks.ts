import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startBotHarness, type BotHarness, type BotStartOptions, type TestBot } from './bot-harness.ts';
import { sambaEnv } from './samba.ts';

export interface BotE2eHooks {
  /** The bots started in the current test; stopped (and their output checked) after it. */
  bots: TestBot[];
  /** Starts a bot on the harness and stops it after the test. */
  bot(extra?: Record<string, string>, options?: BotStartOptions): Promise<TestBot>;
}

/**
 * The common setup of the approval end-to-end files: one bot harness per file when Samba is there
 * (handed to `ready`; each test still calls requireSamba), every bot a test started stopped after
 * it with no secret of the deployment in its output, the tenant's alerts cleared, the harness closed.
 */
export function useBotE2e(ready: (h: BotHarness) => void): BotE2eHooks {
  let h: BotHarness | undefined;
  const bots: TestBot[] = [];
  beforeAll(async () => {
    const samba = sambaEnv();
    if (samba) {
      h = await startBotHarness(samba);
      ready(h);
    }
  });
  afterEach(async () => {
    for (const bot of bots.splice(0)) {
      await bot.stop();
      // No secret of the deployment reaches a log line, whatever the test did.
      for (const secret of h!.secrets) expect(bot.output()).not.toContain(secret);
    }
    h?.demo.tenant.alerts.clear();
  });
  afterAll(async () => {
    await h?.close();
  });
  return {
    bots,
    async bot(extra = {}, options = {}) {
      const started = await h!.startBot(extra, options);
      bots.push(started);
      return started;
    },
  };
}
