import { ACTION_CATALOG, isActionName, type ActionName, type ActionSystem } from './action-names.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import type { Remediation } from '../domain/remediation.ts';

/**
 * The Remediation the workflow uses: sends each action to the implementation of the system it
 * belongs to (ACTION_CATALOG), and supports exactly the actions of the configured systems. It
 * also writes the one log line per run (outcome, code, duration), never the temporary password.
 */
export type RemediationsBySystem = Partial<Record<ActionSystem, Remediation>>;

const SYSTEM_NAMES: Record<ActionSystem, string> = { activeDirectory: 'Active Directory', entra: 'Entra ID', okta: 'Okta' };

export function createRemediationRouter(systems: RemediationsBySystem): Remediation {
  function target(action: ActionName): Remediation {
    if (!isActionName(action)) throw new AppError('INPUT_INVALID', 'Unknown containment action.', { details: { action: String(action) } });
    const system = ACTION_CATALOG[action].system;
    const implementation = systems[system];
    if (!implementation?.supports(action)) {
      throw new AppError('CONFIG_INVALID', `The bot is not connected to ${SYSTEM_NAMES[system]}, so it cannot run ${action}.`, { details: { action, system } });
    }
    return implementation;
  }

  return {
    supports(action) {
      if (!isActionName(action)) return false;
      return systems[ACTION_CATALOG[action].system]?.supports(action) ?? false;
    },

    inspect(action, actionTarget, options) {
      return target(action).inspect(action, actionTarget, options);
    },

    async run(action, actionTarget, options) {
      const implementation = target(action);
      const log = options.log.child({ action, system: ACTION_CATALOG[action].system, accountKey: actionTarget.accountKey, dryRun: options.dryRun });
      const started = performance.now();
      try {
        const result = await implementation.run(action, actionTarget, { ...options, log });
        // Only summary and details: temporaryPassword is a Secret and stays out of the log line.
        log.info({ summary: result.summary, details: result.details, ms: Math.round(performance.now() - started) }, 'action finished');
        return result;
      } catch (error) {
        const mapped = isAppError(error) ? error : new AppError('INTERNAL', `Running ${action} failed unexpectedly.`, { cause: error });
        log.warn({ code: mapped.code, reason: mapped.message, details: mapped.details, ms: Math.round(performance.now() - started) }, 'action failed');
        throw mapped;
      }
    },

    readBack(action, actionTarget, options) {
      return target(action).readBack(action, actionTarget, options);
    },
  };
}
