/**
 * Whether a host name is this machine's loopback: `localhost`, 127.0.0.0/8 or ::1. Used where
 * something is allowed only on the machine itself (plain http in tests and the lab, the
 * unauthenticated lab mode). Names are taken literally, never resolved: a DNS name that happens
 * to resolve to 127.0.0.1 today is not loopback (DNS rebinding).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split('.').every((part) => Number(part) <= 255);
}

/** Whether a URL points at loopback (any scheme); false for anything that does not parse. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** The host part of an HTTP Host header (`127.0.0.1:3978`, `[::1]:80`, `localhost`). */
export function hostOfHostHeader(header: string): string {
  const value = header.trim();
  if (value.startsWith('[')) return value.slice(0, value.indexOf(']') + 1);
  const colon = value.lastIndexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}
