/** The store implementation's public surface: the opener and its helpers (the port types are in src/domain/ports/). */
export { openStore, parseDatabaseUrl, DEFAULT_SQLITE_PATH, type OpenStoreOptions } from './open-store.ts';
export { generateReferenceCode, generateApprovalCode, isApprovalCodeShape, normalizeReferenceCode, CODE_ALPHABET } from './reference-code.ts';
export { redactDatabaseUrl } from './store-errors.ts';
