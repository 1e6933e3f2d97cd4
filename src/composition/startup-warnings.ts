/** The configuration choices worth a warning at start (part of the composition root, src/main.ts). */
import type { Config } from '../config/config.ts';
import { LAB_SECRET_HEADER } from '../http/front-door.ts';
import type { Logger } from '../observability/logger.ts';

export function warnAboutConfiguration(config: Config, logger: Logger): void {
  if (config.botAuth === 'off') {
    logger.warn({ host: config.host, header: LAB_SECRET_HEADER }, 'BOT_AUTH=off: lab mode without Bot Framework authentication; loopback only, lab secret header required, replies only to a loopback serviceUrl');
  }
  if (config.approvers.groupIds.length === 0 && config.approvers.userIds.length === 0) {
    logger.warn('no approvers configured (APPROVER_GROUP_IDS, APPROVER_USER_IDS): nobody can approve actions');
  }
  if (config.readers.groupIds.length > 0 && !config.azure) logger.warn('READER_GROUP_IDS needs Graph (AZURE_*) to check membership: only READER_USER_IDS and approvers may read');
  if (!config.teamsTenantId) logger.warn('no tenant configured (TEAMS_TENANT_ID, MicrosoftAppTenantId, AZURE_TENANT_ID): Teams turns from any tenant are accepted (BOT_AUTH=off only)');
  if (config.executors.activeDirectory !== 'direct' && !config.ldap) {
    logger.warn('AD actions through Defender for Identity without LDAP_*: AD privileges cannot be read, so every AD target needs PROTECTED_ACCOUNT_APPROVALS, and a forced password reset cannot be confirmed; an LDAP account with read access only restores both');
  }
  if (config.dryRun) logger.warn('DRY_RUN=true: approved actions go through every step except the change itself');
}
