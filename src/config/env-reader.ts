/** Typed reading of environment values that records a one-line problem per bad value instead of throwing. */
import { Secret } from '../observability/logger.ts';
import { isLoopbackUrl } from '../shared/loopback.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export type Reader = ReturnType<typeof reader>;

/** Typed accessors that record a one-line problem instead of throwing. */
export function reader(env: Env, problems: string[]) {
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  return {
    text: raw,
    secret(name: string): Secret | undefined {
      const value = raw(name);
      return value === undefined ? undefined : new Secret(value);
    },
    int(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        problems.push(`${name}: must be a whole number from ${min} to ${max}, got "${value}"`);
        return fallback;
      }
      return Number(value);
    },
    bool(name: string, fallback: boolean): boolean {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (value === 'true' || value === '1' || value === 'yes') return true;
      if (value === 'false' || value === '0' || value === 'no') return false;
      problems.push(`${name}: must be true or false, got "${value}"`);
      return fallback;
    },
    oneOf<const T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
      if (!match) {
        problems.push(`${name}: must be one of ${allowed.join(', ')}, got "${value}"`);
        return fallback;
      }
      return match;
    },
    url(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      try {
        const parsed = new URL(value);
        if (parsed.protocol === 'https:') return value;
        // Plain http only on this machine (tests, the lab): elsewhere tokens and answers would
        // cross the network in clear text.
        if (parsed.protocol === 'http:' && isLoopbackUrl(value)) return value;
        if (parsed.protocol === 'http:') {
          problems.push(`${name}: must be an https:// URL (http:// is accepted only for loopback addresses), got "${value}"`);
          return undefined;
        }
        throw new Error('scheme');
      } catch {
        problems.push(`${name}: must be an https:// URL, got "${value}"`);
        return undefined;
      }
    },
    guid(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (!GUID.test(value)) {
        problems.push(`${name}: must be a GUID such as 00000000-0000-0000-0000-000000000000, got "${value}"`);
        return undefined;
      }
      return value.toLowerCase();
    },
    guidList(name: string): string[] {
      const values = (raw(name) ?? '').split(',').map((v) => v.trim()).filter(Boolean);
      const bad = values.filter((v) => !GUID.test(v));
      if (bad.length > 0) problems.push(`${name}: each entry must be an object id (GUID); not one: "${bad[0]}"`);
      return values.filter((v) => GUID.test(v)).map((v) => v.toLowerCase());
    },
    list(name: string, fallback: string[]): string[] {
      const value = raw(name);
      if (value === undefined) return fallback;
      return value.split(',').map((v) => v.trim()).filter(Boolean);
    },
  };
}
