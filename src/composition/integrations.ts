/** Builds the vendor adapters the configuration enables (part of the composition root, src/main.ts). */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { Secret, type Logger } from '../observability/logger.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import type { Directory } from '../domain/ports/directory.ts';
import type { Remediation } from '../domain/remediation.ts';
import type { ActionSystem } from '../actions/action-names.ts';
import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import { createRemediationRouter } from '../actions/remediation-router.ts';
import { createAdRemediation, dnsDomainOfDn } from '../adapters/ldap/ad-remediation.ts';
import { createAzureCredential } from '../adapters/azure/azure-credential.ts';
import { createGraphClient, type GraphClient } from '../adapters/graph/graph-client.ts';
import { createGraphAlertSource } from '../adapters/graph/graph-alert-source.ts';
import { createGraphIdentityActions } from '../adapters/graph/graph-identity-actions.ts';
import { createSentinelAlertSource } from '../adapters/loganalytics/sentinel-alert-source.ts';
import { createSentinelPersonAlerts } from '../adapters/loganalytics/sentinel-person-alerts.ts';
import { createLdapDirectory } from '../adapters/ldap/ldap-directory.ts';
import { createOktaClient, type OktaClient } from '../adapters/okta/okta-client.ts';
import { createOktaRemediation } from '../adapters/okta/okta-remediation.ts';
import type { SentinelAlertLookup } from '../domain/ports/sentinel-alert-lookup.ts';
import type { DefenderWriteback } from '../domain/ports/defender-writeback.ts';
import { createGraphDefenderWriteback } from '../adapters/graph/graph-defender-writeback.ts';

import type { StartOptions } from './start-options.ts';

/** Graph lookups answer a person in front of a phone: no retries, short deadline. */
export const LOOKUP_TIMEOUT_MS = 1_500;
export interface Integrations {
  sources: AlertSource[];
  directory?: Directory;
  remediation: Remediation;
  capabilities: DirectoryCapabilities;
  graph?: GraphClient;
  graphLookup?: GraphClient;
  okta?: OktaClient;
  /** Sentinel searched by `lookup` for a person's recent alerts (whenever a workspace is configured). */
  sentinelLookup?: SentinelAlertLookup;
  /** NetBIOS domain of `directory` (CORP), when there is one. */
  netbiosDomain?: string;
  /** Write-back to Defender over Graph (DEFENDER_WRITEBACK=on only). */
  defenderWriteback?: DefenderWriteback;
}

/** The vendor adapters the configuration enables; nothing is built for what is not configured. */
export function buildIntegrations(config: Config, logger: Logger, options: StartOptions = {}): Integrations {
  const timeoutMs = config.outboundTimeoutMs;
  const credential = config.azure ? createAzureCredential(config.azure, { timeoutMs }) : undefined;
  const graph = credential ? createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs, logger }) : undefined;
  const graphLookup = credential ? createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs: LOOKUP_TIMEOUT_MS, logger, maxRetries: 0 }) : undefined;

  // Write-back retries are the outbox's (later, with backoff), never a wait inside the call.
  const defenderWriteback =
    credential && config.defenderWriteback.enabled ? createGraphDefenderWriteback({ client: createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs, logger, maxRetries: 0 }) }) : undefined;

  const sources: AlertSource[] = [];
  if (graph && config.alertSources.includes('graph')) sources.push(createGraphAlertSource({ client: graph, logger }));
  if (credential && config.sentinel && config.alertSources.includes('sentinel')) {
    sources.push(
      createSentinelAlertSource({
        credential,
        endpoint: config.logsEndpoint,
        workspaceId: config.sentinel.workspaceId,
        filter: config.sentinel.alertFilter,
        overlapSeconds: config.sentinel.overlapSeconds,
        logger,
        timeoutMs,
      }),
    );
  }

  // A directory handed in (the lab's in-memory one) replaces the LDAP adapter.
  const directory =
    options.directory ??
    (config.ldap
      ? createLdapDirectory({
          url: config.ldap.url,
          bindDn: config.ldap.bindDn,
          bindPassword: config.ldap.bindPassword,
          baseDn: config.ldap.baseDn,
          caPem: config.ldap.caFile ? readFileSync(config.ldap.caFile, 'utf8') : undefined,
          netbiosDomain: config.ldap.netbiosDomain,
          timeoutMs: config.ldap.timeoutMs,
          logger,
        })
      : undefined);
  // The lookup reads Sentinel whenever a workspace is configured, also when Graph is the alert
  // source: the workspace may hold MDI alerts from before the bot polled, or from another connector.
  const sentinelLookup =
    credential && config.sentinel
      ? createSentinelPersonAlerts({ credential, endpoint: config.logsEndpoint, workspaceId: config.sentinel.workspaceId, filter: config.sentinel.alertFilter, logger, timeoutMs: LOOKUP_TIMEOUT_MS, maxRetries: 0 })
      : undefined;
  const okta = config.okta
    ? createOktaClient({
        orgUrl: config.okta.orgUrl,
        ...(config.okta.oauth
          ? {
              oauth: {
                clientId: config.okta.oauth.clientId,
                privateKeyPem: new Secret(readFileSync(config.okta.oauth.privateKeyPath, 'utf8')),
                ...(config.okta.oauth.keyId ? { keyId: config.okta.oauth.keyId } : {}),
              },
            }
          : {}),
        ...(config.okta.apiToken ? { apiToken: config.okta.apiToken } : {}),
        timeoutMs,
        logger,
      })
    : undefined;

  const systems: Partial<Record<ActionSystem, Remediation>> = {};
  const netbiosDomain = options.directory ? (options.directoryDomain ?? config.ldap?.netbiosDomain ?? 'CORP').toUpperCase() : config.ldap?.netbiosDomain;
  const dnsDomain = config.ldap ? dnsDomainOfDn(config.ldap.baseDn) : undefined;
  if (directory && netbiosDomain) systems.activeDirectory = createAdRemediation({ directory, netbiosDomain, ...(dnsDomain ? { dnsDomain } : {}) });
  if (graph) systems.entra = createGraphIdentityActions({
      client: graph,
      privilegedGroups: (config.entraPrivilegedGroupIds ?? []).map((id) => ({ id })),
      ...(config.entraPrivilegedRoleIds ? { privilegedRoleIds: config.entraPrivilegedRoleIds } : {}),
    });
  if (okta) systems.okta = createOktaRemediation({ client: okta, forgetDevices: config.okta?.forgetDevices ?? false });
  return {
    sources,
    directory,
    remediation: createRemediationRouter(systems),
    capabilities: { activeDirectory: Boolean(directory), entra: Boolean(graph), okta: Boolean(okta) },
    graph,
    graphLookup,
    okta,
    sentinelLookup,
    netbiosDomain,
    defenderWriteback,
  };
}
