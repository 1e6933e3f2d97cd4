/**
 * Validates a Teams app manifest against the official JSON schema of its `manifestVersion`, as
 * shipped in `@microsoft/app-manifest` (npm, the Microsoft 365 Agents Toolkit's manifest package:
 * https://www.npmjs.com/package/@microsoft/app-manifest, schemas under build/json-schemas/teams/),
 * compiled with ajv the way the toolkit does it (AppManifestUtils.validateAgainstSchema: draft-04,
 * allErrors, strictTypes off, formats uri/email/regex). Nothing is fetched: the schema comes from
 * node_modules, so packaging works offline and on a locked-down build host.
 * Schema reference: https://learn.microsoft.com/microsoft-365/extensibility/schema/
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';

// Both are CommonJS modules exporting their function as `default` too (what the types describe).
const Ajv04 = ajvDraft04.default;
const addFormats = ajvFormats.default;

type Schema = Record<string, unknown>;

const require = createRequire(import.meta.url);

/** The official schema URL a manifest of this version names in `$schema`. */
export function officialSchemaUrl(manifestVersion: string): string {
  return `https://developer.microsoft.com/json-schemas/teams/v${manifestVersion}/MicrosoftTeams.schema.json`;
}

/** Where `@microsoft/app-manifest` keeps the schema of this manifest version (the file may not exist). */
export function officialSchemaFile(manifestVersion: string): string {
  if (!/^(\d+\.\d+|devPreview)$/.test(manifestVersion)) throw new Error(`manifestVersion "${manifestVersion}" is not a version like 1.29`);
  const packageDir = dirname(require.resolve('@microsoft/app-manifest/package.json'));
  return join(packageDir, 'build', 'json-schemas', 'teams', `v${manifestVersion}`, 'MicrosoftTeams.schema.json');
}

/**
 * The official schema of a manifest version. The published files hold `\a` and `\v` escapes that
 * JSON does not allow; the toolkit replaces them before parsing, and so does this.
 */
export function loadOfficialSchema(manifestVersion: string): Schema {
  const file = officialSchemaFile(manifestVersion);
  if (!existsSync(file)) throw new Error(`@microsoft/app-manifest ships no schema for manifestVersion ${manifestVersion} (looked for ${file}); update the package or the manifest`);
  const raw = readFileSync(file, 'utf8').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b');
  return JSON.parse(raw) as Schema;
}

const compiled = new Map<Schema, ReturnType<InstanceType<typeof Ajv04>['compile']>>();

/** Problems of `manifest` under `schema`, one line each (`<json pointer> <message>`); [] when valid. */
export function schemaErrors(manifest: unknown, schema: Schema): string[] {
  let validate = compiled.get(schema);
  if (!validate) {
    const ajv = new Ajv04({ allErrors: true, strictTypes: false });
    addFormats(ajv, ['uri', 'email', 'regex']);
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(manifest)) return [];
  return (validate.errors ?? []).map((error) => {
    const where = error.instancePath === '' ? '$' : `$${error.instancePath}`;
    const params = Object.keys(error.params ?? {}).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
    return `${where}: ${error.message ?? 'is invalid'}${params}`;
  });
}

/**
 * The manifest against the official schema of its own `manifestVersion`, plus what the schema
 * cannot say: `$schema` names that same version, and no `${{...}}` placeholder is left.
 */
export function validateManifest(manifest: unknown): string[] {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) return ['$: the manifest is not a JSON object'];
  const { manifestVersion, $schema } = manifest as { manifestVersion?: unknown; $schema?: unknown };
  if (typeof manifestVersion !== 'string') return ['$.manifestVersion: missing or not a string'];
  let schema: Schema;
  try {
    schema = loadOfficialSchema(manifestVersion);
  } catch (error) {
    return [`$.manifestVersion: ${(error as Error).message}`];
  }
  const errors = schemaErrors(manifest, schema);
  if ($schema !== undefined && $schema !== officialSchemaUrl(manifestVersion)) errors.push(`$.$schema: must be ${officialSchemaUrl(manifestVersion)} for manifestVersion ${manifestVersion}`);
  if (JSON.stringify(manifest).includes('${{')) errors.push('$: a ${{...}} placeholder is left unfilled');
  return errors;
}
