/** The executor section of the configuration: who carries out each system's actions (direct adapter or Defender for Identity). */
import type { ExecutorMode } from '../actions/executor-choice.ts';
import type { Reader } from './env-reader.ts';

export interface ExecutorConfig {
  activeDirectory: ExecutorMode;
  entra: ExecutorMode;
  okta: ExecutorMode;
  /** How long the bot reads back an action Defender for Identity accepted before saying "not yet confirmed". */
  mdiConfirmTimeoutSeconds: number;
}

/**
 * ACTION_EXECUTOR (direct | mdi | auto) for every system, overridden per system by
 * ACTION_EXECUTOR_AD (ldap | mdi | auto), ACTION_EXECUTOR_ENTRA (graph | mdi | auto) and
 * ACTION_EXECUTOR_OKTA (okta | mdi | auto). MDI is reached through Graph: it needs AZURE_*.
 */
export function readExecutors(r: Reader, problems: string[], azureConfigured: boolean): ExecutorConfig {
  const fallback = r.oneOf('ACTION_EXECUTOR', ['direct', 'mdi', 'auto'] as const, 'direct');
  const perSystem = (key: string, directName: string): ExecutorMode => {
    const value = r.oneOf(key, [directName, 'mdi', 'auto'] as const, fallback === 'direct' ? directName : fallback);
    return value === directName ? 'direct' : (value as ExecutorMode);
  };
  const executors: ExecutorConfig = {
    activeDirectory: perSystem('ACTION_EXECUTOR_AD', 'ldap'),
    entra: perSystem('ACTION_EXECUTOR_ENTRA', 'graph'),
    okta: perSystem('ACTION_EXECUTOR_OKTA', 'okta'),
    mdiConfirmTimeoutSeconds: r.int('MDI_CONFIRM_TIMEOUT_SECONDS', 600, 1, 86_400),
  };
  const usesMdi = executors.activeDirectory !== 'direct' || executors.entra !== 'direct' || executors.okta !== 'direct';
  if (usesMdi && !azureConfigured) problems.push('ACTION_EXECUTOR: Defender for Identity is reached through Microsoft Graph; set AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential');
  return executors;
}
