import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/observability/logger.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';

// Structured JSON logs: one line per event, child loggers carry their context, and secrets are
// redacted both by key name (configuration, headers) and by type (Secret), wherever they sit.
describe('logger', () => {
  it('writes one JSON object per event with the child logger context', () => {
    const log = captureLogger('info');
    const alertLog = log.logger.child({ alert: 'da637-1', code: 'K7M2QX' });
    alertLog.info({ severity: 'high' }, 'alert posted');
    alertLog.child({ action: 'disable-ad-account' }).warn('action failed');
    const lines = log.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'alert posted', alert: 'da637-1', code: 'K7M2QX', severity: 'high', service: 'incident-bot' });
    expect(lines[1]).toMatchObject({ level: 'warn', alert: 'da637-1', action: 'disable-ad-account' });
    expect(typeof lines[0]!.time).toBe('string');
  });

  it('redacts secrets by key name, at any of the usual depths', () => {
    const log = captureLogger('info');
    log.logger.info({ password: 'p-1', config: { LDAP_BIND_PASSWORD: 'p-2', OKTA_API_TOKEN: 'p-3' }, request: { headers: { authorization: 'Bearer p-4' } }, newPassword: 'p-5' }, 'secrets by name');
    const text = log.text();
    for (const secret of ['p-1', 'p-2', 'p-3', 'p-4', 'p-5']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('redacts Secret values by type, whatever their key', () => {
    const log = captureLogger('info');
    const secret = new Secret('Very-Secret-Value-42');
    log.logger.info({ anything: secret, nested: { deeper: { value: secret } } }, `also in text: ${secret}`);
    const text = log.text();
    expect(text).not.toContain('Very-Secret-Value-42');
    expect(secret.reveal()).toBe('Very-Secret-Value-42');
    expect(log.lines()[0]).toMatchObject({ anything: '[redacted]', msg: 'also in text: [redacted]' });
  });
  it('redacts by key name in child bindings, arrays, any letter case and an error\'s own fields', () => {
    const log = captureLogger('info');
    const child = log.logger.child({ request: { headers: { Authorization: 'Bearer q-1' } }, token: 'q-2' });
    const error = Object.assign(new Error('connector refused'), { config: { headers: { AUTHORIZATION: 'Bearer q-3' } }, apiToken: 'q-4' });
    child.warn({ err: error, items: [{ clientSecret: 'q-5' }, { nested: { PASSWORD: 'q-6' } }] }, 'mixed');
    const text = log.text();
    for (const secret of ['q-1', 'q-2', 'q-3', 'q-4', 'q-5', 'q-6']) expect(text).not.toContain(secret);
    const line = log.lines()[0]!;
    expect(line).toMatchObject({ msg: 'mixed', err: { type: 'Error', message: 'connector refused', apiToken: '[redacted]' }, items: [{ clientSecret: '[redacted]' }, { nested: { PASSWORD: '[redacted]' } }] });
    expect(String((line.err as { stack?: string }).stack)).toContain('connector refused');
  });

  it('leaves the logged object as it was (redaction copies, never writes into the caller\'s data)', () => {
    const log = captureLogger('info');
    const data = { config: { password: 'r-1' }, list: [{ token: 'r-2' }] };
    log.logger.info(data, 'copy');
    expect(data).toEqual({ config: { password: 'r-1' }, list: [{ token: 'r-2' }] });
    expect(log.text()).not.toContain('r-1');
    expect(log.text()).not.toContain('r-2');
  });
});
