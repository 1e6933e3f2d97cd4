/**
 * Two Store instances on one fresh database of a backend, as two bot instances would share it;
 * everything opened is closed and dropped after each test. Call inside the backend's describe.
 */
import { afterEach } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import type { Backend } from './store-contract.ts';

const logger = createLogger({ level: 'silent' });

export function twoStoreInstancesOn(backend: Backend): () => Promise<[Store, Store]> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  return async function twoInstances(): Promise<[Store, Store]> {
    const database = await backend.fresh();
    cleanups.push(() => database.cleanup());
    const a = await openStore({ databaseUrl: database.url, logger });
    cleanups.push(() => a.close());
    const b = await openStore({ databaseUrl: database.url, logger });
    cleanups.push(() => b.close());
    return [a, b];
  };
}
