import { randomBytes } from 'node:crypto';
import { LAB_SECRET_HEADER } from '../../src/http/front-door.ts';

/**
 * The lab secret of bots this test process starts with BOT_AUTH=off (BOT_LAB_SECRET), generated
 * per process: tests pass it in the lab secret header like the lab does.
 */
export const TEST_LAB_SECRET = randomBytes(24).toString('base64url');

/** Headers of a JSON POST to a BOT_AUTH=off bot. */
export function labJsonHeaders(secret: string = TEST_LAB_SECRET): Record<string, string> {
  return { 'content-type': 'application/json', [LAB_SECRET_HEADER]: secret };
}
