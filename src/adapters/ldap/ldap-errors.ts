import { ResultCodeError } from 'ldapts';
import { AppError, isAppError, type ErrorCode } from '../../domain/errors.ts';

/** Where in a directory session an error happened: the same LDAP code means different things. */
export type LdapPhase = 'connect' | 'bind' | 'operation';

export interface LdapErrorContext {
  /** What the bot was doing, e.g. "disableAccount". */
  operation: string;
  phase: LdapPhase;
}

/** AD's extended error inside a 49 answer ("... data 52e, ..."), as a readable reason. */
const BIND_REASONS: Record<string, string> = {
  '525': 'user-not-found',
  '52e': 'invalid-credentials',
  '530': 'logon-time-restriction',
  '531': 'workstation-restriction',
  '532': 'password-expired',
  '533': 'account-disabled',
  '701': 'account-expired',
  '773': 'password-must-change',
  '775': 'account-locked',
};

export function bindReason(message: string): string | undefined {
  const code = /\bdata ([0-9a-f]{3,8})\b/i.exec(message.slice(0, 4096))?.[1]?.toLowerCase();
  return code === undefined ? undefined : (BIND_REASONS[code] ?? `data-${code}`);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

/**
 * The one place where LDAP and socket failures become AppErrors. Messages are plain sentences
 * for operators and chat; the server's diagnostic text (which never carries a password: LDAP
 * servers do not echo credentials) goes to `details` for the logs, next to `ldapCode`.
 */
export function mapLdapError(error: unknown, context: LdapErrorContext): AppError {
  if (isAppError(error)) return error;
  const details: Record<string, unknown> = { operation: context.operation, phase: context.phase };
  if (error instanceof ResultCodeError) {
    const diagnostic = error.message.slice(0, 300);
    Object.assign(details, { ldapCode: error.code, diagnostic });
    const make = (code: ErrorCode, message: string) => new AppError(code, message, { cause: error, details });
    switch (error.code) {
      case 19:
      case 53:
        // AD (and Samba) put 0000052D in front of every password-policy refusal; Windows
        // sometimes answers 53 instead of 19 for the same thing.
        if (/0000052D/i.test(error.message)) return make('DIRECTORY_POLICY', 'The new password was refused by the domain password policy.');
        if (error.code === 53 && /encrypt|confidential|secure/i.test(error.message)) {
          return make('DIRECTORY_TLS_REQUIRED', 'The directory refused the change because the connection is not encrypted.');
        }
        return make('UPSTREAM_ERROR', error.code === 19 ? 'The directory refused the change (constraint violation).' : 'The directory is unwilling to perform the change.');
      case 50:
        return make('DIRECTORY_RIGHTS', "The bot's directory account is not allowed to change this account.");
      case 32:
        return make('DIRECTORY_NO_SUCH_OBJECT', 'The directory has no such object.');
      case 8:
      case 13:
        return make('DIRECTORY_TLS_REQUIRED', 'The directory requires an encrypted connection (LDAPS or StartTLS).');
      case 49: {
        const reason = bindReason(error.message);
        if (reason) details.bindReason = reason;
        return make(
          'DIRECTORY_UNAVAILABLE',
          `The directory refused the bot's bind account${reason ? ` (${reason})` : ''}: check the bind DN and password, and that the account is enabled and not locked.`,
        );
      }
      case 3:
        return make('TIMEOUT', 'The directory did not finish the request within its time limit.');
      case 51:
      case 52:
        return make('DIRECTORY_UNAVAILABLE', 'The directory is busy or unavailable.');
      default:
        return make('UPSTREAM_ERROR', `The directory answered with LDAP result ${error.code}.`);
    }
  }
  const err = error instanceof Error ? error : new Error(String(error));
  const nodeCode = typeof (err as NodeJS.ErrnoException).code === 'string' ? (err as NodeJS.ErrnoException).code : undefined;
  if (nodeCode) details.errno = nodeCode;
  if (/timed out|timeout/i.test(err.message) && nodeCode !== 'ETIMEDOUT') {
    return new AppError('TIMEOUT', 'The directory did not answer in time.', { cause: err, details });
  }
  if (nodeCode && (nodeCode.startsWith('ERR_TLS') || nodeCode.startsWith('ERR_SSL') || /CERT|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO/.test(nodeCode))) {
    return new AppError('DIRECTORY_UNAVAILABLE', 'The TLS connection to the directory failed (certificate or protocol).', { cause: err, details });
  }
  if ((nodeCode && NETWORK_CODES.has(nodeCode)) || /socket|connection closed/i.test(err.message)) {
    return new AppError('DIRECTORY_UNAVAILABLE', 'The directory cannot be reached.', { cause: err, details });
  }
  return new AppError('DIRECTORY_UNAVAILABLE', `The directory ${context.phase === 'operation' ? 'request' : context.phase} failed unexpectedly.`, {
    cause: err,
    details: { ...details, diagnostic: err.message.slice(0, 300) },
  });
}
