import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { startHttpsJsonServer, type RunningServer } from '../https-json-server.ts';

/**
 * A local stand-in for the Bot Framework's OpenID metadata and signing keys
 * (login.botframework.com/v1/.well-known/openidconfiguration). Keys are made at test time;
 * `signToken` issues RS256 tokens like the Bot Connector service does for Teams.
 */
export interface BotSigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface BotOpenIdServer extends RunningServer {
  metadataUrl: string;
  /** The key the metadata publishes. */
  key: BotSigningKey;
  signToken(claims: Record<string, unknown>, options?: { key?: BotSigningKey }): string;
}

export function makeSigningKey(): BotSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: randomUUID(), privateKey, publicKey };
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

export function signJwt(claims: Record<string, unknown>, key: BotSigningKey): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid, x5t: key.kid }));
  const payload = base64url(JSON.stringify(claims));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${payload}`);
  return `${header}.${payload}.${base64url(signer.sign(key.privateKey))}`;
}

export async function startBotOpenIdServer(options: { endorsements?: string[] } = {}): Promise<BotOpenIdServer> {
  const key = makeSigningKey();
  const jwk = key.publicKey.export({ format: 'jwk' });
  const endorsements = options.endorsements ?? ['msteams', 'webchat', 'emulator'];
  let baseUrl = '';
  const server = await startHttpsJsonServer((req) => {
    if (req.method === 'GET' && req.path === '/v1/.well-known/openidconfiguration') {
      return {
        status: 200,
        body: {
          issuer: 'https://api.botframework.com',
          authorization_endpoint: 'https://invalid.botframework.com',
          jwks_uri: `${baseUrl}/v1/.well-known/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
        },
      };
    }
    if (req.method === 'GET' && req.path === '/v1/.well-known/keys') {
      return { status: 200, body: { keys: [{ kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: jwk.n, e: jwk.e, endorsements }] } };
    }
    return { status: 404, body: { error: 'not found' } };
  });
  baseUrl = server.url;
  return {
    ...server,
    metadataUrl: `${server.url}/v1/.well-known/openidconfiguration`,
    key,
    signToken: (claims, signOptions = {}) => signJwt(claims, signOptions.key ?? key),
  };
}
