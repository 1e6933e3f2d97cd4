import { AppError, isAppError } from '../domain/errors.ts';
import type { ActionResult, Remediation, TargetInspection } from '../domain/remediation.ts';
import type { ActionSystem } from './action-names.ts';

/**
 * Who carries out a system's actions: the bot itself through the system's own API (`direct`: LDAP
 * for AD, Graph for Entra ID, the Okta API), Defender for Identity's response actions (`mdi`), or
 * `auto`: MDI where the person's account in MDI lists the action, else the direct adapter. Chosen
 * per system below the Remediation port: the gate, four-eyes, the cap and the audit do not know.
 * Actions MDI has no counterpart for (dismiss-risk, force-password-reset-entra) always run direct.
 */
export type ExecutorMode = 'direct' | 'mdi' | 'auto';

export interface ExecutorChoiceDeps {
  system: ActionSystem;
  mode: ExecutorMode;
  /** The system's own adapter, when it is configured. */
  direct?: Remediation;
  /** Its name in the audit: ldap, graph, okta. */
  directName: string;
  /** The MDI executor, when the mode is not `direct`. */
  mdi?: Remediation;
}

/**
 * Without LDAP nobody can say whether an AD account is privileged (adminCount, Domain Admins...),
 * and MDI's account data does not tell. A check that cannot answer never passes as "not
 * privileged": such an account gets the stricter approvals of PROTECTED_ACCOUNT_APPROVALS.
 */
export const AD_PRIVILEGE_UNKNOWN = 'its AD privileges cannot be read without LDAP (adminCount, privileged groups)';

/** The system's Remediation with the executor chosen per action, or undefined when nothing can run its actions. */
export function createExecutorChoice(deps: ExecutorChoiceDeps): Remediation | undefined {
  const { mode, direct, mdi, directName } = deps;
  if (!direct && (!mdi || mode === 'direct')) return undefined;
  const viaMdi = (action: Parameters<Remediation['supports']>[0]): boolean => mode !== 'direct' && (mdi?.supports(action) ?? false);
  const directly = (action: Parameters<Remediation['supports']>[0]): boolean => direct?.supports(action) ?? false;
  const tagged = (result: ActionResult, extra: Record<string, unknown> = {}): ActionResult => ({ ...result, details: { executor: directName, ...result.details, ...extra } });

  return {
    supports: (action) => viaMdi(action) || directly(action),

    describe(action) {
      if (!viaMdi(action)) return direct?.describe?.(action);
      const how = mdi?.describe?.(action);
      return mode === 'auto' && directly(action) && how ? `${how} Directly when Defender does not offer it for the account.` : how;
    },

    async offerable(action, target, options) {
      if (viaMdi(action) && !(mode === 'auto' && directly(action))) return (await mdi?.offerable?.(action, target, options)) ?? true;
      return directly(action) ? ((await direct?.offerable?.(action, target, options)) ?? true) : false;
    },

    /**
     * `mdi`: MDI says whether it knows the account and lists the action; the direct adapter, when
     * configured, adds what MDI cannot say (privilege, synced users). `auto` with a direct adapter:
     * the direct inspection (MDI is tried at run time, the direct adapter is the fallback).
     */
    async inspect(action, target, options): Promise<TargetInspection> {
      if (!viaMdi(action) || (mode === 'auto' && directly(action))) {
        if (!direct) throw new AppError('CONFIG_INVALID', `No executor is configured for ${action}.`);
        return direct.inspect(action, target, options);
      }
      const fromMdi = await (mdi as Remediation).inspect(action, target, options);
      if (!directly(action)) return deps.system === 'activeDirectory' && fromMdi.found ? { ...fromMdi, privileged: true, reasons: [...fromMdi.reasons, AD_PRIVILEGE_UNKNOWN] } : fromMdi;
      const fromDirect = await (direct as Remediation).inspect(action, target, options);
      return {
        ...fromMdi,
        privileged: fromDirect.privileged,
        reasons: fromDirect.reasons,
        ...(fromDirect.syncedFromAd === undefined ? {} : { syncedFromAd: fromDirect.syncedFromAd }),
        identities: [...(fromDirect.identities ?? []), ...(fromMdi.identities ?? [])],
      };
    },

    async run(action, target, options) {
      if (!viaMdi(action)) {
        if (!direct) throw new AppError('CONFIG_INVALID', `No executor is configured for ${action}.`);
        return tagged(await direct.run(action, target, options));
      }
      if (mode === 'mdi' || !directly(action)) return (mdi as Remediation).run(action, target, options);
      try {
        return await (mdi as Remediation).run(action, target, options);
      } catch (error) {
        // auto: MDI does not know the account or does not list the action (nothing was sent): direct.
        if (!isAppError(error) || error.code !== 'ACTION_NOT_APPLICABLE' || error.details.executor !== 'mdi') throw error;
        options.log.info({ reason: error.message }, 'Defender for Identity does not offer it for this account; running it directly');
        return tagged(await (direct as Remediation).run(action, target, options), { mdiNotOffered: error.message });
      }
    },

    /** Read where the state lives (LDAP, Graph, Okta) when the bot can; else MDI's own account data. */
    async readBack(action, target, options) {
      if (directly(action)) {
        const state = await (direct as Remediation).readBack(action, target, options);
        if (state !== 'unknown' || !viaMdi(action)) return state;
      }
      return viaMdi(action) ? (mdi as Remediation).readBack(action, target, options) : 'unknown';
    },
  };
}
