import { describe, expect, it } from 'vitest';
import { explain } from '../../src/approvals/card-verbs.ts';
import { createApprovalCommandHandlers } from '../../src/commands/approval-commands.ts';
import { AppError, errorCode, type ErrorCode } from '../../src/domain/errors.ts';
import type { ApprovalCommands } from '../../src/domain/ports/approval-commands.ts';
import type { ChatTurn } from '../../src/domain/ports/chat.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { presentError } from '../../src/domain/present-error.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

// One mapping from an error to the words a user sees, whichever path (card button or typed
// command) the error came up through.

const SAID: ErrorCode[] = ['NOT_AUTHORIZED', 'INPUT_INVALID', 'NOT_FOUND', 'CONFLICT', 'ACTION_NOT_APPLICABLE', 'TIMEOUT', 'DIRECTORY_RIGHTS', 'UPSTREAM_FORBIDDEN'];
const HIDDEN: ErrorCode[] = ['INTERNAL', 'CONFIG_INVALID', 'STORE_UNAVAILABLE'];

/** A typed `approve` whose use case throws `error`; returns what the asker was told privately. */
async function typedApproveAnswer(error: unknown): Promise<string> {
  const approvals: ApprovalCommands = {
    approveByCode: async () => {
      throw error;
    },
    denyByCode: async () => 'unused',
  };
  const said: string[] = [];
  const turn = {
    actor: { id: '29:a', aadObjectId: '00000000-0000-0000-0000-00000000000a', name: 'Ann' },
    replyPrivately: async (message: { text?: string }) => void said.push(message.text ?? ''),
  } as unknown as ChatTurn;
  const handlers = createApprovalCommandHandlers({
    store: {} as Store,
    approvals,
    logger: captureLogger().logger,
    answer: async () => {
      throw new Error('a refusal is never answered publicly');
    },
  });
  await handlers.approve('K7M2QX', turn);
  expect(said).toHaveLength(1);
  return said[0]!;
}

describe('presentError', () => {
  it.each(SAID)('says the sentence of a %s AppError as it is', (code) => {
    expect(presentError(new AppError(code, 'Ask the owner of the account instead.'))).toBe('Ask the owner of the account instead.');
  });

  it.each(HIDDEN)('hides the sentence of a %s AppError behind its code', (code) => {
    const text = presentError(new AppError(code, 'postgres://bot:hunter2@db.internal failed'));
    expect(text).toBe(`Something went wrong (${code}); nothing was changed.`);
    expect(text).not.toContain('hunter2');
  });

  it('never shows the message of a raw error (a vendor or a bug may have put anything there)', () => {
    const text = presentError(new Error('Bearer eyJhbGciOi.secret.token at /srv/app/src/x.ts:12'));
    expect(text).toBe('Something went wrong (INTERNAL); nothing was changed.');
    expect(presentError('a thrown string')).toBe('Something went wrong (INTERNAL); nothing was changed.');
    expect(presentError(undefined)).toBe('Something went wrong (INTERNAL); nothing was changed.');
  });

  it('does not trust an object that only looks like an AppError', () => {
    const forged = { name: 'AppError', code: 'NOT_FOUND', message: 'client_secret=abc' };
    expect(presentError(forged)).toBe('Something went wrong (INTERNAL); nothing was changed.');
    expect(errorCode(forged)).toBe('INTERNAL');
  });

  it('gives the stable code of any error', () => {
    expect(errorCode(new AppError('DIRECTORY_RIGHTS', 'x'))).toBe('DIRECTORY_RIGHTS');
    expect(errorCode(new TypeError('x'))).toBe('INTERNAL');
  });
});

/** Markdown escapes removed (`\\_` shows as `_`). */
const rendered = (markdown: string): string => markdown.replace(/\\([\\`*_{}[\]()#+\-.!|~<>])/g, '$1');

describe('cards and commands answer the same error with the same words', () => {
  const log = captureLogger().logger;
  const cases: [string, unknown][] = [
    ['an action that does not fit the account', new AppError('ACTION_NOT_APPLICABLE', 'This account is synced from AD: disable it in AD instead.')],
    ['a refusal', new AppError('NOT_AUTHORIZED', 'Only approvers can approve.')],
    ['a directory failure', new AppError('DIRECTORY_UNAVAILABLE', 'The directory did not answer.')],
    ['a store outage', new AppError('STORE_UNAVAILABLE', 'The database did not answer.')],
    ['a bug', new Error('undefined is not a function')],
  ];

  it.each(cases)('%s', async (_name, error) => {
    const onCard = explain(error, log);
    expect(onCard).toBe(presentError(error));
    // The chat answer is markdown with the text's own markdown characters escaped: compare what Teams renders.
    expect(rendered(await typedApproveAnswer(error))).toBe(onCard);
  });
});
