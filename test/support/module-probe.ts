import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';

/**
 * Preloaded with `--import` into a bot process: records the URL of every module the process
 * resolves (ESM imports and CommonJS requires alike, through Node's synchronous module hooks) and
 * writes them to MODULE_PROBE_FILE when the process exits. Tests read it to prove what was never
 * loaded.
 */
const seen = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    seen.add(result.url);
    return result;
  },
});
const file = process.env.MODULE_PROBE_FILE;
if (file) process.on('exit', () => writeFileSync(file, JSON.stringify([...seen])));
