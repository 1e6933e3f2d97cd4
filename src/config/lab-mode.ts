import { isLoopbackUrl } from '../shared/loopback.ts';

/**
 * BOT_AUTH=off has no authentication, so it is a lab mode and never a deployment mode: it runs
 * only in dry run, or when everything it could act on or talk to is on this machine. Returns the
 * one-sentence refusal naming the first key that points elsewhere, or undefined when it may run.
 */
export interface LabModeEndpoints {
  /** Each configured integration's URL by its key; undefined when that integration is off. */
  endpoints: Array<[key: string, url: string | undefined]>;
  /** The host's managed identity always means the real tenant, whatever the endpoints say. */
  managedIdentity: boolean;
}

export function labModeRefusal({ endpoints, managedIdentity }: LabModeEndpoints): string | undefined {
  const real = endpoints.find(([, url]) => url !== undefined && !isLoopbackUrl(url));
  if (!real && !managedIdentity) return undefined;
  const why = real ? `${real[0]} points at ${hostOf(real[1]!)}` : 'AZURE_MANAGED_IDENTITY=true uses the real tenant';
  return `BOT_AUTH: off is a lab mode without authentication and runs only with DRY_RUN=true or with every integration on loopback, but ${why}.`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'a host that is not loopback';
  }
}
