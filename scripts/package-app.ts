/**
 * Builds the Teams app package: fills the `${{NAME}}` placeholders of appPackage/manifest.json
 * from env/.env.<name> (Teams Toolkit convention) and the environment, validates the result
 * against the official schema of its manifestVersion from `@microsoft/app-manifest` (ajv, no
 * network: see manifest-schema.ts), checks the icons, and writes
 * appPackage/build/incident-bot.<name>.zip with the validated manifest, color.png and outline.png.
 *
 *   node scripts/package-app.ts [--env dev]     (default: TEAMSFX_ENV or dev)
 *   node scripts/package-app.ts --icons          (re-draws the two PNG icons)
 *
 * Zip and PNG in pure Node (zlib for deflate and CRC-32): no packaging dependency.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { crc32, deflateRawSync, deflateSync } from 'node:zlib';
import { readEnvFiles } from '../src/config/env-files.ts';
import { validateManifest } from './manifest-schema.ts';

export { validateManifest };

const ROOT = resolve(import.meta.dirname, '..');
export const APP_DIR = resolve(ROOT, 'appPackage');

// ---- placeholders ----------------------------------------------------------------------------

/** Replaces every `${{NAME}}`; names without a value are reported, never left in the package. */
export function fillPlaceholders(template: string, values: Readonly<Record<string, string | undefined>>): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const text = template.replace(/\$\{\{\s*([A-Z0-9_]+)\s*\}\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined || (value === '' && name !== 'APP_NAME_SUFFIX')) {
      missing.add(name);
      return '';
    }
    // The value lands inside a JSON string: escape it as one.
    return JSON.stringify(value).slice(1, -1);
  });
  return { text, missing: [...missing] };
}

// ---- PNG ---------------------------------------------------------------------------------------

/** An RGBA image as a PNG file (colour type 6, 8 bits, no interlace, filter 0 on every row). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(rows, y * (width * 4 + 1) + 1);
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** Width and height from a PNG's IHDR. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(1, 4).toString('ascii') !== 'PNG' || png.subarray(12, 16).toString('ascii') !== 'IHDR') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * A shield with an exclamation mark: full colour on the brand red for color.png (192×192), white
 * on transparent for outline.png (32×32), as Teams requires.
 */
export function drawIcon(size: number, style: 'color' | 'outline'): Buffer {
  const rgba = new Uint8Array(size * size * 4);
  const put = (x: number, y: number, [r, g, b, a]: readonly number[]) => rgba.set([r!, g!, b!, a!], (y * size + x) * 4);
  const red = [0xb4, 0x26, 0x2c, 0xff] as const;
  const white = [0xff, 0xff, 0xff, 0xff] as const;
  const inShield = (u: number, v: number) => {
    // u, v in [-1, 1]: a shield = rectangle top half, a tapering point below.
    if (v < -0.8 || v > 0.9) return false;
    const half = v < 0.1 ? 0.7 : 0.7 * (1 - (v - 0.1) / 0.8);
    return Math.abs(u) <= half;
  };
  const inMark = (u: number, v: number) => (Math.abs(u) <= 0.1 && v >= -0.55 && v <= 0.2) || (Math.hypot(u, v - 0.42) <= 0.11);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = ((x + 0.5) / size) * 2 - 1;
      const v = ((y + 0.5) / size) * 2 - 1;
      if (style === 'color') {
        put(x, y, inShield(u, v) && !inMark(u, v) ? white : red);
      } else {
        // Outline: white shield edge and mark, everything else transparent.
        const edge = inShield(u, v) && !(inShield(u * 1.25, (v + 0.05) * 1.2));
        put(x, y, edge || (inShield(u, v) && inMark(u, v)) ? white : [0, 0, 0, 0]);
      }
    }
  }
  return encodePng(size, size, rgba);
}

// ---- ZIP ---------------------------------------------------------------------------------------

/** A ZIP archive (deflate, no directories, no data descriptors): enough for a Teams app package. */
export function zip(files: readonly { name: string; data: Buffer }[], date = new Date('2026-01-01T00:00:00Z')): Buffer {
  const dosTime = ((date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1)) & 0xffff;
  const dosDate = (((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate()) & 0xffff;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const packed = deflateRawSync(file.data, { level: 9 });
    const crc = crc32(file.data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

// ---- the command -------------------------------------------------------------------------------

export interface PackageResult {
  zipPath?: string;
  errors: string[];
}

/** Fills, validates and zips; writes nothing when anything is wrong. */
export function buildPackage(options: { values: Readonly<Record<string, string | undefined>>; outFile: string; appDir?: string }): PackageResult {
  const appDir = options.appDir ?? APP_DIR;
  const filled = fillPlaceholders(readFileSync(resolve(appDir, 'manifest.json'), 'utf8'), options.values);
  if (filled.missing.length > 0) return { errors: filled.missing.map((name) => `${name}: no value (set it in env/.env.<name> or the environment)`) };
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(filled.text) as Record<string, unknown>;
  } catch (error) {
    return { errors: [`manifest.json is not JSON after filling: ${(error as Error).message}`] };
  }
  const errors = validateManifest(manifest);
  const icons = manifest.icons as { color: string; outline: string };
  const color = readFileSync(resolve(appDir, icons.color));
  const outline = readFileSync(resolve(appDir, icons.outline));
  const colorSize = pngSize(color);
  const outlineSize = pngSize(outline);
  if (colorSize.width !== 192 || colorSize.height !== 192) errors.push(`${icons.color}: must be 192×192, is ${colorSize.width}×${colorSize.height}`);
  if (outlineSize.width !== 32 || outlineSize.height !== 32) errors.push(`${icons.outline}: must be 32×32, is ${outlineSize.width}×${outlineSize.height}`);
  if (errors.length > 0) return { errors };
  mkdirSync(dirname(options.outFile), { recursive: true });
  writeFileSync(options.outFile, zip([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
    { name: icons.color, data: color },
    { name: icons.outline, data: outline },
  ]));
  return { zipPath: options.outFile, errors: [] };
}

function main(argv: string[]): number {
  if (argv.includes('--icons')) {
    writeFileSync(resolve(APP_DIR, 'color.png'), drawIcon(192, 'color'));
    writeFileSync(resolve(APP_DIR, 'outline.png'), drawIcon(32, 'outline'));
    process.stdout.write('wrote appPackage/color.png (192×192) and appPackage/outline.png (32×32)\n');
    return 0;
  }
  const envIndex = argv.indexOf('--env');
  const name = envIndex >= 0 ? argv[envIndex + 1] : (process.env.TEAMSFX_ENV ?? 'dev');
  if (!name || !/^[a-z0-9-]+$/.test(name)) {
    process.stderr.write('usage: node scripts/package-app.ts [--env <name>] | --icons\n');
    return 2;
  }
  const fromFiles = readEnvFiles(name, resolve(ROOT, 'env'));
  const values: Record<string, string | undefined> = { ...fromFiles, ...process.env };
  // Teams Toolkit names the bot id BOT_ID; this project's config calls it MicrosoftAppId.
  values.BOT_ID ??= values.MicrosoftAppId;
  values.APP_NAME_SUFFIX ??= name === 'dev' || name === 'prod' ? '' : ` (${name})`;
  const result = buildPackage({ values, outFile: resolve(APP_DIR, `build/incident-bot.${name}.zip`) });
  if (result.errors.length > 0) {
    for (const error of result.errors) process.stderr.write(`package: ${error}\n`);
    return 1;
  }
  process.stdout.write(`wrote ${result.zipPath}\n`);
  return 0;
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));
