/** The store's public surface: the port types, the opener, and the key helpers callers need. */
export type * from './store.ts';
export { APPROVAL_STATES, AUDIT_OUTCOMES, POST_STATES } from './store.ts';
export { openStore, parseDatabaseUrl, DEFAULT_SQLITE_PATH, type OpenStoreOptions } from './open-store.ts';
export { accountKeysOf, accountKeysOfAlert, normalizeAccountKey, samAccountKey } from './account-keys.ts';
export { generateReferenceCode, generateApprovalCode, isApprovalCodeShape, normalizeReferenceCode, CODE_ALPHABET } from './reference-code.ts';
export { redactDatabaseUrl } from './store-errors.ts';
