import { raceAbort } from '../shared/race-abort.ts';
import { ACTION_CATALOG, ACTION_NAMES, isActionName, SYSTEM_NAMES, type ActionName, type ActionSystem } from './action-names.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import type { ActionTarget, FoundIdentity, Remediation, TargetInspection } from '../domain/remediation.ts';
import { targetIdentity } from '../domain/target-identity.ts';

/**
 * The Remediation the workflow uses: sends each action to the implementation of the system it
 * belongs to (ACTION_CATALOG), and supports exactly the actions of the configured systems. It
 * also writes the one log line per run (outcome, code, duration), never the temporary password.
 */
export type RemediationsBySystem = Partial<Record<ActionSystem, Remediation>>;

/**
 * Systems that can say whether a PERSON is privileged (AD: adminCount and the built-in groups;
 * Entra: the configured privileged groups), asked for every action whatever system it runs in.
 * Okta cannot (its admin roles are not visible through the Users API). Order matters: AD first,
 * whose UPN lets Entra find someone an alert named only by SID.
 */
const PRIVILEGE_SYSTEMS: readonly ActionSystem[] = ['activeDirectory', 'entra'];

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

    /**
     * Protection is about the person: the action's own system answers whether the account is
     * there (and its own facts), then every other configured system that can judge privilege is
     * asked about the same person, found by the identifiers the earlier answers returned. Any
     * "privileged" wins; a check that cannot answer (error, timeout) fails the whole inspection,
     * which the workflow turns into a refusal with the reason (nothing is approved unchecked).
     */
    async inspect(action, actionTarget, options) {
      const primary = await target(action).inspect(action, actionTarget, options);
      // The executor knows the account but will not run this action on it (MDI does not list it).
      if (primary.unavailable) throw new AppError('ACTION_NOT_APPLICABLE', primary.unavailable, { details: { action } });
      const ownSystem = ACTION_CATALOG[action].system;
      const reasons = [...primary.reasons];
      const identities: FoundIdentity[] = [...(primary.identities ?? [])];
      let privileged = primary.privileged;
      let known = withFound(actionTarget, identities);
      for (const system of PRIVILEGE_SYSTEMS) {
        const implementation = systems[system];
        if (system === ownSystem || !implementation) continue;
        const probe = ACTION_NAMES.find((a) => ACTION_CATALOG[a].system === system && implementation.supports(a));
        if (!probe || !canLookUp(system, known)) continue;
        let answer: TargetInspection;
        try {
          answer = await bounded(implementation.inspect(probe, known, options), options.signal, system);
        } catch (error) {
          const inner = isAppError(error) ? error.message.replace(/\.$/, '') : 'it failed unexpectedly';
          throw new AppError(isAppError(error) ? error.code : 'INTERNAL', `${SYSTEM_NAMES[system]} could not say whether the account is privileged there (${lowerFirst(inner)})`, {
            cause: error,
            details: { system, ...(isAppError(error) ? error.details : {}) },
          });
        }
        if (!answer.found) continue;
        if (answer.privileged) {
          privileged = true;
          reasons.push(...(answer.reasons.length > 0 ? answer.reasons : ['privileged']).map((reason) => `${reason} (${SYSTEM_NAMES[system]})`));
        }
        identities.push(...(answer.identities ?? []));
        known = withFound(known, answer.identities ?? []);
      }
      return { ...primary, privileged, reasons, ...(identities.length > 0 ? { identities } : {}) };
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

    describe(action) {
      return isActionName(action) ? systems[ACTION_CATALOG[action].system]?.describe?.(action) : undefined;
    },

    async offerable(action, actionTarget, options) {
      if (!isActionName(action)) return false;
      const implementation = systems[ACTION_CATALOG[action].system];
      if (!implementation?.supports(action)) return false;
      return (await implementation.offerable?.(action, actionTarget, options)) ?? true;
    },
  };
}

/** The target with the gaps filled from what directories found (the alert's own values kept). */
function withFound(target: ActionTarget, identities: readonly FoundIdentity[]): ActionTarget {
  const id = targetIdentity(target);
  const next: ActionTarget = { ...target };
  for (const found of identities) {
    if (!id.sid && !next.sid && found.sid) next.sid = found.sid;
    if (!id.userPrincipalName && !next.userPrincipalName && found.userPrincipalName) next.userPrincipalName = found.userPrincipalName;
    if (!id.entraObjectId && !next.entraObjectId && found.entraObjectId) next.entraObjectId = found.entraObjectId;
    // A sAMAccountName is only meaningful with its domain: take it from AD, which knows both.
    if (!id.samAccountName && !next.samAccountName && found.system === 'activeDirectory' && found.samAccountName) {
      next.samAccountName = found.samAccountName;
      if (found.domain) next.domain = found.domain;
    }
  }
  return next;
}

/** Whether `system` has anything to find this person by (else it cannot know them). */
function canLookUp(system: ActionSystem, target: ActionTarget): boolean {
  const id = targetIdentity(target);
  if (system === 'activeDirectory') return Boolean(id.sid || id.samAccountName || id.userPrincipalName);
  if (system === 'entra') return Boolean(id.entraObjectId || id.userPrincipalName);
  return Boolean(id.userPrincipalName);
}

/** The inspection, or a TIMEOUT when the caller's deadline passes first (LDAP ignores signals). */
function bounded<T>(work: Promise<T>, signal: AbortSignal | undefined, system: ActionSystem): Promise<T> {
  return raceAbort(work, signal, () => new AppError('TIMEOUT', 'The check timed out.', { details: { system } }));
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}
