/**
 * Everything built on the Azure app registration: Graph clients, the Graph alert source, Entra
 * actions and lookups, group-based approver and reader checks. Loaded (dynamic import) only when
 * the configuration has an Azure section, so a deployment without it never loads the Graph SDK.
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import type { EntraUserLookup } from '../domain/ports/entra-user-lookup.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import type { Remediation } from '../domain/remediation.ts';
import type { TokenCredential } from '../adapters/azure/azure-credential.ts';
import { createAzureCredential } from '../adapters/azure/azure-credential.ts';
import { createGraphClient } from '../adapters/graph/graph-client.ts';
import { createGraphAlertSource } from '../adapters/graph/graph-alert-source.ts';
import { createGraphIdentityActions } from '../adapters/graph/graph-identity-actions.ts';
import { createGraphUserLookup } from '../adapters/graph/graph-user-lookup.ts';
import { createGraphApproverCheck } from '../adapters/graph/graph-approver-check.ts';
import { createGraphReaderCheck } from '../adapters/graph/graph-reader-check.ts';
import { createGraphDefenderWriteback } from '../adapters/graph/graph-defender-writeback.ts';
import type { DefenderWriteback } from '../domain/ports/defender-writeback.ts';
import { createMdiIdentityAccounts } from '../adapters/graph/mdi-identity-accounts.ts';
import { createMdiRemediation } from '../adapters/graph/mdi-remediation.ts';

export interface GraphIntegration {
  credential: TokenCredential;
  source?: AlertSource;
  entra: Remediation;
  /** Defender for Identity's response actions (ACTION_EXECUTOR*): used only for the systems configured to use them. */
  mdi: Remediation;
  entraLookup: EntraUserLookup;
  /** Set when approver groups are configured (transitive membership through Graph). */
  groupApprovers?: ApproverCheck;
  /** Set when reader groups are configured. */
  groupReaders?: ReaderCheck;
  /** A membership check for other groups (the leads who re-assign alerts), on the same Graph client. */
  groupCheck(groupIds: string[], userIds: string[]): ApproverCheck;
  /** Write-back to Defender (DEFENDER_WRITEBACK=on only). */
  defenderWriteback?: DefenderWriteback;
}

export function buildGraphIntegration(config: Config & { azure: NonNullable<Config['azure']> }, logger: Logger, lookupTimeoutMs: number): GraphIntegration {
  const timeoutMs = config.outboundTimeoutMs;
  const credential = createAzureCredential(config.azure, { timeoutMs });
  const graph = createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs, logger });
  // Lookups answer a person in front of a phone: no retries, short deadline.
  const graphLookup = createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs: lookupTimeoutMs, logger, maxRetries: 0 });
  return {
    credential,
    ...(config.alertSources.includes('graph') ? { source: createGraphAlertSource({ client: graph, logger }) } : {}),
    entra: createGraphIdentityActions({
      client: graph,
      privilegedGroups: (config.entraPrivilegedGroupIds ?? []).map((id) => ({ id })),
      ...(config.entraPrivilegedRoleIds ? { privilegedRoleIds: config.entraPrivilegedRoleIds } : {}),
    }),
    mdi: createMdiRemediation({ accounts: createMdiIdentityAccounts(graph) }),
    entraLookup: createGraphUserLookup({ client: graphLookup }),
    ...(config.approvers.groupIds.length > 0 ? { groupApprovers: createGraphApproverCheck({ client: graph, groupIds: config.approvers.groupIds, userIds: config.approvers.userIds }) } : {}),
    // Write-back retries are the outbox's (later, with backoff), never a wait inside the call.
    ...(config.defenderWriteback.enabled
      ? { defenderWriteback: createGraphDefenderWriteback({ client: createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs, logger, maxRetries: 0 }) }) }
      : {}),
    groupCheck: (groupIds, userIds) => createGraphApproverCheck({ client: graph, groupIds, userIds }),
    ...(config.readers.groupIds.length > 0 ? { groupReaders: createGraphReaderCheck({ client: graph, groupIds: config.readers.groupIds, userIds: config.readers.userIds }) } : {}),
  };
}
