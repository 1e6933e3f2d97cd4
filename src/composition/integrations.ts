/**
 * Builds the vendor adapters the configuration enables (part of the composition root, src/main.ts).
 * Each vendor's part is a module of its own, imported only when configured: a deployment that does
 * not use Okta, Sentinel, LDAP or Graph never loads their SDKs (start time and memory, issue 16).
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import type { Directory } from '../domain/ports/directory.ts';
import type { EntraUserLookup } from '../domain/ports/entra-user-lookup.ts';
import type { OktaUserLookup } from '../domain/ports/okta-user-lookup.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import type { Remediation } from '../domain/remediation.ts';
import type { ActionSystem } from '../actions/action-names.ts';
import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import { createRemediationRouter } from '../actions/remediation-router.ts';
import { createAdRemediation, dnsDomainOfDn } from '../adapters/ldap/ad-remediation.ts';
import { createExecutorChoice } from '../actions/executor-choice.ts';
import type { SentinelAlertLookup } from '../domain/ports/sentinel-alert-lookup.ts';
import type { DefenderWriteback } from '../domain/ports/defender-writeback.ts';

import type { StartOptions } from './start-options.ts';

/** Graph lookups answer a person in front of a phone: no retries, short deadline. */
export const LOOKUP_TIMEOUT_MS = 1_500;
export interface Integrations {
  sources: AlertSource[];
  directory?: Directory;
  remediation: Remediation;
  capabilities: DirectoryCapabilities;
  /** Entra ID users (lookups, the person resolver), when the Azure app registration is configured. */
  entraLookup?: EntraUserLookup;
  oktaLookup?: OktaUserLookup;
  /** Approvers by Entra group (APPROVER_GROUP_IDS), when configured with the Azure app registration. */
  groupApprovers?: ApproverCheck;
  /** Readers by Entra group (READER_GROUP_IDS), likewise. */
  groupReaders?: ReaderCheck;
  /** Membership of other configured groups (leads) through Graph; absent without an Azure app. */
  groupCheck?: (groupIds: string[], userIds: string[]) => ApproverCheck;
  /** Sentinel searched by `lookup` for a person's recent alerts (whenever a workspace is configured). */
  sentinelLookup?: SentinelAlertLookup;
  /** NetBIOS domain of `directory` (CORP), when there is one. */
  netbiosDomain?: string;
  /** Write-back to Defender over Graph (DEFENDER_WRITEBACK=on only). */
  defenderWriteback?: DefenderWriteback;
}

/** The vendor adapters the configuration enables; nothing is built (or loaded) for what is not configured. */
export async function buildIntegrations(config: Config, logger: Logger, options: StartOptions = {}): Promise<Integrations> {
  const azure = config.azure;
  const graph = azure ? (await import('./graph-integration.ts')).buildGraphIntegration({ ...config, azure }, logger, LOOKUP_TIMEOUT_MS) : undefined;
  const sentinelConfig = config.sentinel;
  const sentinel =
    graph && sentinelConfig ? (await import('./sentinel-integration.ts')).buildSentinelIntegration({ ...config, sentinel: sentinelConfig }, graph.credential, logger, LOOKUP_TIMEOUT_MS) : undefined;

  const sources: AlertSource[] = [];
  if (graph?.source) sources.push(graph.source);
  if (sentinel?.source) sources.push(sentinel.source);

  // A directory handed in (the lab's in-memory one) replaces the LDAP adapter.
  const directory = options.directory ?? (config.ldap ? (await import('./ldap-integration.ts')).buildLdapDirectory(config.ldap, logger) : undefined);
  const okta = config.okta ? (await import('./okta-integration.ts')).buildOktaIntegration(config.okta, config.outboundTimeoutMs, logger, LOOKUP_TIMEOUT_MS) : undefined;

  const direct: Partial<Record<ActionSystem, Remediation>> = {};
  const netbiosDomain = options.directory ? (options.directoryDomain ?? config.ldap?.netbiosDomain ?? 'CORP').toUpperCase() : config.ldap?.netbiosDomain;
  const dnsDomain = config.ldap ? dnsDomainOfDn(config.ldap.baseDn) : undefined;
  if (directory && netbiosDomain) direct.activeDirectory = createAdRemediation({ directory, netbiosDomain, ...(dnsDomain ? { dnsDomain } : {}) });
  if (graph) direct.entra = graph.entra;
  if (okta) direct.okta = okta.remediation;
  // Defender for Identity's response actions, for the systems configured to use them (ACTION_EXECUTOR*).
  const mdi = graph?.mdi;
  const systems: Partial<Record<ActionSystem, Remediation>> = {};
  const directNames: Record<ActionSystem, string> = { activeDirectory: 'ldap', entra: 'graph', okta: 'okta' };
  for (const system of ['activeDirectory', 'entra', 'okta'] as const) {
    const chosen = createExecutorChoice({ system, mode: config.executors[system], ...(direct[system] ? { direct: direct[system] } : {}), directName: directNames[system], ...(mdi ? { mdi } : {}) });
    if (chosen) systems[system] = chosen;
  }
  return {
    sources,
    directory,
    remediation: createRemediationRouter(systems),
    capabilities: { activeDirectory: Boolean(systems.activeDirectory), entra: Boolean(systems.entra), okta: Boolean(systems.okta) },
    ...(graph ? { entraLookup: graph.entraLookup } : {}),
    ...(graph?.groupApprovers ? { groupApprovers: graph.groupApprovers } : {}),
    ...(graph?.groupReaders ? { groupReaders: graph.groupReaders } : {}),
    ...(graph ? { groupCheck: graph.groupCheck } : {}),
    ...(okta ? { oktaLookup: okta.lookup } : {}),
    ...(sentinel ? { sentinelLookup: sentinel.lookup } : {}),
    ...(graph?.defenderWriteback ? { defenderWriteback: graph.defenderWriteback } : {}),
    netbiosDomain,
  };
}
