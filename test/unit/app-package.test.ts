import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import appManifest from '@microsoft/app-manifest';
import { APP_DIR, buildPackage, drawIcon, fillPlaceholders, pngSize, validateManifest } from '../../scripts/package-app.ts';
import { loadOfficialSchema, officialSchemaFile } from '../../scripts/manifest-schema.ts';
import { COMMANDS } from '../../src/commands/parse-command.ts';

const VALUES = { BOT_ID: '00000000-0000-0000-0000-00000000b07a', TEAMS_APP_ID: '11111111-0000-4000-8000-000000000001', BOT_DOMAIN: 'bot.example.com', APP_NAME_SUFFIX: '' };

function filledManifest(values: Record<string, string> = VALUES): Record<string, unknown> {
  const { text, missing } = fillPlaceholders(readFileSync(join(APP_DIR, 'manifest.json'), 'utf8'), values);
  expect(missing).toEqual([]);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Reads a ZIP's central directory and inflates every entry: an independent check of the writer. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(archive.readUInt32LE(at)).toBe(0x02014b50);
    const size = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const extra = archive.readUInt16LE(at + 30) + archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataAt = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    files.set(name, inflateRawSync(archive.subarray(dataAt, dataAt + size)));
    at += 46 + nameLength + extra;
  }
  return files;
}

describe('Teams app package', () => {
  it('our filled manifest passes the official schema of its version, from @microsoft/app-manifest, with slash commands and targeted messages declared', async () => {
    const manifest = filledManifest();
    expect(Number(manifest.manifestVersion)).toBeGreaterThanOrEqual(1.29);
    // The schema file is the one the npm package ships, not a copy of ours.
    expect(officialSchemaFile(String(manifest.manifestVersion))).toMatch(/node_modules\/@microsoft\/app-manifest\/build\/json-schemas\/teams\/v1\.\d+\/MicrosoftTeams\.schema\.json$/);
    expect(validateManifest(manifest)).toEqual([]);
    // The package's own validation (the toolkit's ajv setup) agrees, on v1.29 and on the newest it ships.
    expect(await appManifest.ManifestUtil.validateManifestAgainstSchema(manifest as never, loadOfficialSchema(String(manifest.manifestVersion)) as never)).toEqual([]);
    expect(await appManifest.ManifestUtil.validateManifestAgainstSchema({ ...manifest, manifestVersion: '1.30' } as never, loadOfficialSchema('1.30') as never)).toEqual([]);
    const bot = (manifest.bots as Record<string, unknown>[])[0]!;
    expect(bot.scopes).toEqual(['team', 'groupChat', 'personal']);
    expect(bot.supportsTargetedMessages).toBe(true);
    const lists = bot.commandLists as { triggers?: string[]; scopes: string[]; commands: { title: string }[] }[];
    expect(lists[0]!.triggers).toEqual(['mention', 'slash']);
    // Every command the manifest offers is one the bot understands.
    for (const list of lists) for (const command of list.commands) expect(COMMANDS).toContain(command.title);
    expect(manifest.validDomains).toEqual(['bot.example.com']);
    const description = String((manifest.description as { full: string }).full);
    expect(description).toMatch(/User\.Read\.All/);
    // Only permissions the bot uses: nothing writes to alerts yet.
    expect(description).not.toMatch(/SecurityAlert\.ReadWrite\.All/);
  });

  it('refuses packageName, as the official schema has since v1.17 (the package’s own validator says the same)', async () => {
    const manifest: Record<string, unknown> = { ...filledManifest(), packageName: 'com.example.incidentbot' };
    expect(validateManifest(manifest).join('\n')).toContain('must NOT have additional properties {"additionalProperty":"packageName"}');
    const official = await appManifest.ManifestUtil.validateManifestAgainstSchema(manifest as never, loadOfficialSchema(manifest.manifestVersion as string) as never);
    expect(official.join('\n')).toContain('packageName');
  });

  it.each([
    ['an unknown property', (m: Record<string, unknown>) => ({ ...m, botsX: [] }), '$: must NOT have additional properties {"additionalProperty":"botsX"}'],
    ['a bad app id', (m: Record<string, unknown>) => ({ ...m, id: 'not-a-guid' }), '$/id: must match pattern'],
    ['a missing description', (m: Record<string, unknown>) => ({ ...m, description: undefined }), "$: must have required property 'description'"],
    ['a too long short name', (m: Record<string, unknown>) => ({ ...m, name: { short: 'x'.repeat(31), full: 'x' } }), '$/name/short: must NOT have more than 30 characters'],
    ['an unknown trigger', (m: Record<string, unknown>) => ({ ...m, bots: [{ ...(m.bots as object[])[0], commandLists: [{ scopes: ['team'], triggers: ['shout'], commands: [{ title: 'x', description: 'y' }] }] }] }), '$/bots/0/commandLists/0/triggers/0: must be equal to one of the allowed values'],
    ['a groupchat scope spelt the old way', (m: Record<string, unknown>) => ({ ...m, bots: [{ ...(m.bots as object[])[0], scopes: ['groupchat'] }] }), '$/bots/0/scopes/0: must be equal to one of the allowed values'],
    ['a manifest version the package has no schema for', (m: Record<string, unknown>) => ({ ...m, manifestVersion: '1.99' }), '$.manifestVersion: @microsoft/app-manifest ships no schema for manifestVersion 1.99'],
    ['a $schema of another version', (m: Record<string, unknown>) => ({ ...m, $schema: 'https://developer.microsoft.com/json-schemas/teams/v1.16/MicrosoftTeams.schema.json' }), '$.$schema: must be https://developer.microsoft.com/json-schemas/teams/v1.29/MicrosoftTeams.schema.json'],
    ['a huge short description', (m: Record<string, unknown>) => ({ ...m, description: { short: 'x'.repeat(10_000), full: 'x' } }), '$/description/short: must NOT have more than 80 characters'],
  ])('fails for %s', (_label, breakIt, expected) => {
    const broken = JSON.parse(JSON.stringify(breakIt(filledManifest()))) as unknown;
    expect(validateManifest(broken).join('\n')).toContain(expected);
  });

  it('reports unfilled placeholders instead of packaging them', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'app-')), 'app.zip');
    const result = buildPackage({ values: { ...VALUES, BOT_ID: undefined }, outFile: out });
    expect(result.errors).toEqual(['BOT_ID: no value (set it in env/.env.<name> or the environment)']);
    expect(result.zipPath).toBeUndefined();
  });

  it('writes a zip holding exactly manifest.json, color.png and outline.png', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'app-')), 'app.zip');
    const result = buildPackage({ values: VALUES, outFile: out });
    expect(result.errors).toEqual([]);
    const files = unzip(readFileSync(out));
    expect([...files.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(JSON.parse(files.get('manifest.json')!.toString('utf8'))).toEqual(filledManifest());
    expect(files.get('color.png')!.equals(readFileSync(join(APP_DIR, 'color.png')))).toBe(true);
  });

  it('has icons of the sizes Teams requires; the outline is white on transparent', () => {
    expect(pngSize(readFileSync(join(APP_DIR, 'color.png')))).toEqual({ width: 192, height: 192 });
    expect(pngSize(readFileSync(join(APP_DIR, 'outline.png')))).toEqual({ width: 32, height: 32 });
    // The committed icons are what the generator draws (re-run `--icons` after changing it).
    expect(drawIcon(32, 'outline').equals(readFileSync(join(APP_DIR, 'outline.png')))).toBe(true);
  });

  it('refuses an icon of the wrong size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'app-'));
    copyFileSync(join(APP_DIR, 'manifest.json'), join(dir, 'manifest.json'));
    copyFileSync(join(APP_DIR, 'outline.png'), join(dir, 'outline.png'));
    writeFileSync(join(dir, 'color.png'), drawIcon(64, 'color'));
    const result = buildPackage({ values: VALUES, outFile: join(dir, 'app.zip'), appDir: dir });
    expect(result.errors).toEqual(['color.png: must be 192×192, is 64×64']);
  });
});
