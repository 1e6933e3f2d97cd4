import { ConstraintViolationError, InvalidCredentialsError, ConfidentialityRequiredError, UnwillingToPerformError } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { fileTime, parentDn } from '../../src/adapters/ldap/ldap-directory.ts';
import { mapLdapError } from '../../src/adapters/ldap/ldap-errors.ts';
import { escapeFilterValue, findUsersFilter, guidToString, sidToBuffer, sidToString } from '../../src/adapters/ldap/ldap-filter.ts';
import { generatePassword } from '../../src/adapters/ldap/password-generator.ts';

describe('LDAP filter building', () => {
  it('escapes every filter metacharacter, so input is only ever a value', () => {
    expect(escapeFilterValue('*)(objectClass=*')).toBe('\\2a\\29\\28objectClass=\\2a');
    expect(escapeFilterValue('a\\b\u0000c')).toBe('a\\5cb\\00c');
    expect(escapeFilterValue('Zoë Müller')).toBe('Zoë Müller');
    expect(findUsersFilter('*')).toBe('(|(sAMAccountName=\\2a)(userPrincipalName=\\2a)(displayName=*\\2a*)(cn=*\\2a*))');
  });

  it('picks the filter by the shape of the query', () => {
    expect(findUsersFilter('CORP\\jdoe', 'CORP')).toBe('(sAMAccountName=jdoe)');
    expect(findUsersFilter('FABRIKAM\\jdoe', 'CORP')).toBeNull();
    expect(findUsersFilter('s-1-5-21-1-2-3-1104')).toBe('(objectSid=S-1-5-21-1-2-3-1104)');
    expect(findUsersFilter('a@b.test')).toContain('(mail=a@b.test)');
  });

  it('round-trips SIDs and formats GUIDs as AD does', () => {
    const sid = 'S-1-5-21-2066717437-3422960574-1340521303-1104';
    expect(sidToBuffer(sid).toString('hex')).toBe('010500000000000515000000fd9a2f7bbe3b06cc57bbe64f50040000');
    expect(sidToString(sidToBuffer(sid))).toBe(sid);
    expect(() => sidToBuffer('S-1-5-21-4294967296')).toThrowError(expect.objectContaining({ code: 'INPUT_INVALID' }));
    const guid = Buffer.from('6fa7f3d3c1e0a34fb0c9a1b2c3d4e5f6', 'hex');
    expect(guidToString(guid)).toBe('d3f3a76f-e0c1-4fa3-b0c9-a1b2c3d4e5f6');
  });

  it('reads FILETIMEs and parent DNs with escaped commas', () => {
    expect(fileTime('0')).toBeNull();
    expect(fileTime('9223372036854775807')).toBeNull();
    expect(fileTime('116444736000000000')?.toISOString()).toBe('1970-01-01T00:00:00.000Z'); // the Unix epoch in FILETIME
    expect(fileTime('133000000000000000')?.toISOString()).toBe('2022-06-18T04:26:40.000Z');
    expect(parentDn('CN=Doe\\, Jane,OU=Staff,DC=corp')).toBe('OU=Staff,DC=corp');
  });
});

describe('password generator', () => {
  it('always has all four character classes, the asked length, and avoids the given names', () => {
    for (let i = 0; i < 200; i += 1) {
      const password = generatePassword({ length: 16, avoid: ['jdoe', 'John Doe'] });
      expect(password).toHaveLength(16);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[^A-Za-z0-9]/);
      expect(password.toLowerCase()).not.toMatch(/jdoe|john|doe/);
      expect(password).not.toMatch(/["'\\\s]/);
    }
    expect(new Set(Array.from({ length: 50 }, () => generatePassword())).size).toBe(50);
  });
});

describe('LDAP error mapping', () => {
  const context = { operation: 'resetPassword', phase: 'operation' } as const;
  it('keys password policy on 0000052D for 19 and 53, and keeps the LDAP code', () => {
    const msg = '0000052D: Constraint violation - check_password_restrictions: the password is too short';
    expect(mapLdapError(new ConstraintViolationError(msg), context)).toMatchObject({ code: 'DIRECTORY_POLICY', details: { ldapCode: 19 } });
    expect(mapLdapError(new UnwillingToPerformError(`${msg}`), context)).toMatchObject({ code: 'DIRECTORY_POLICY', details: { ldapCode: 53 } });
    expect(mapLdapError(new UnwillingToPerformError('00002035: not allowed to set the NT hash password directly'), context).code).toBe('UPSTREAM_ERROR');
    expect(mapLdapError(new ConfidentialityRequiredError('x'), context)).toMatchObject({ code: 'DIRECTORY_TLS_REQUIRED', details: { ldapCode: 13 } });
  });

  it('names the bind problem from AD data codes', () => {
    const error = mapLdapError(new InvalidCredentialsError('80090308: LdapErr: DSID-0C09030B, comment: AcceptSecurityContext error, data 775, v893'), { operation: 'ping', phase: 'bind' });
    expect(error).toMatchObject({ code: 'DIRECTORY_UNAVAILABLE', details: { ldapCode: 49, bindReason: 'account-locked' } });
  });

  it('maps socket and TLS failures', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:636'), { code: 'ECONNREFUSED' });
    expect(mapLdapError(refused, { operation: 'ping', phase: 'connect' }).code).toBe('DIRECTORY_UNAVAILABLE');
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(mapLdapError(tls, { operation: 'ping', phase: 'connect' }).message).toMatch(/TLS/);
    expect(mapLdapError(new Error('SearchRequest: Operation timed out'), context).code).toBe('TIMEOUT');
  });
});
