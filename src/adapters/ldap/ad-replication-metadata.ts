/** When an attribute last changed, read from AD replication metadata (the XML and the binary form). */

export /** ATTRTYP of unicodePwd in replPropertyMetaData (a base-schema attribute: prefix 0x0009). */
const ATTID_UNICODE_PWD = 0x0009005a;

/** ftimeLastOriginatingChange of `attribute` in msDS-ReplAttributeMetaData values (DS_REPL_ATTR_META_DATA XML). */
export function replXmlChangeTime(values: string[], attribute: string): Date | null {
  for (const xml of values) {
    const name = /<pszAttributeName>([^<]*)<\/pszAttributeName>/.exec(xml)?.[1];
    if (name?.toLowerCase() !== attribute.toLowerCase()) continue;
    const time = /<ftimeLastOriginatingChange>([^<]*)<\/ftimeLastOriginatingChange>/.exec(xml)?.[1];
    const parsed = time === undefined ? Number.NaN : Date.parse(time);
    return Number.isNaN(parsed) ? null : new Date(parsed);
  }
  return null;
}

/**
 * originating_change_time of `attid` in a replPropertyMetaData blob (replPropertyMetaDataBlob
 * version 1: version, reserved, count, reserved, then 48-byte entries: attid, version,
 * NTTIME in whole seconds since 1601, invocation GUID, originating USN, local USN).
 */
export function replBlobChangeTime(blob: Buffer | undefined, attid: number): Date | null {
  if (!blob || blob.length < 16 || blob.readUInt32LE(0) !== 1) return null;
  const count = blob.readUInt32LE(8);
  for (let i = 0; i < count; i += 1) {
    const at = 16 + i * 48;
    if (at + 48 > blob.length) return null;
    if (blob.readUInt32LE(at) !== attid) continue;
    const seconds = Number(blob.readBigUInt64LE(at + 8));
    return seconds === 0 ? null : new Date((seconds - 11_644_473_600) * 1000);
  }
  return null;
}
