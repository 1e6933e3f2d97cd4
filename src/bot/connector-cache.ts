import type { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { setBounded } from '../shared/bounded-map.ts';

type Auth = ConfigurationBotFrameworkAuthentication;
type ConnectorFactory = ReturnType<Auth['createConnectorFactory']>;
type ClaimsIdentity = Parameters<Auth['createConnectorFactory']>[0];
type ConnectorClient = Awaited<ReturnType<ConnectorFactory['create']>>;
type UserTokenClient = Awaited<ReturnType<Auth['createUserTokenClient']>>;

/** Distinct (app id, serviceUrl, audience) clients kept; Teams uses a handful of regional serviceUrls. */
export const CONNECTOR_CACHE_ENTRIES = 32;

/**
 * One Bot Framework connector client per (bot app id, serviceUrl, audience), reused from turn to
 * turn, instead of botbuilder's new one for every turn: ConnectorFactoryImpl.create and
 * createUserTokenClient build a fresh ServiceClient, credentials object and HTTP pipeline each
 * time, which made a plain message turn cost the bot ~15 % more CPU than it needed
 * (`npm run bench -- floor`, CPU per turn). The credentials refresh their own tokens (MSAL), so a
 * long-lived client stays valid, and its token cache is reused too.
 *
 * The key holds the app id the factory would use (the token's audience claim, else its appid
 * claim: botframework-connector's getAppId) so a client is never lent to a different identity,
 * and the serviceUrl, which botbuilder has already checked against the token's `serviceurl` claim
 * before a factory is asked (and the lab mode's front door against loopback). The map is bounded:
 * the least recently used entry goes first.
 */
export function cacheConnectorClients(auth: Auth, entries = CONNECTOR_CACHE_ENTRIES): Auth {
  const connectors = new Map<string, Promise<ConnectorClient>>();
  const userTokens = new Map<string, Promise<UserTokenClient>>();

  const remember = <T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> => {
    const known = map.get(key);
    const client = known ?? make();
    // Set again on a hit too: the least recently used entry is the one dropped past the bound.
    setBounded(map, key, client, entries);
    // A failed creation (e.g. the token endpoint unreachable) is not kept: the next turn tries again.
    if (!known) client.catch(() => map.get(key) === client && map.delete(key));
    return client;
  };

  const caching = (inner: ConnectorFactory, appId: string): ConnectorFactory =>
    Object.assign(Object.create(inner) as ConnectorFactory, {
      create: (serviceUrl: string, audience?: string) => remember(connectors, JSON.stringify([appId, serviceUrl, audience ?? '']), () => inner.create(serviceUrl, audience)),
    });

  const authenticateRequest = auth.authenticateRequest.bind(auth);
  const createConnectorFactory = auth.createConnectorFactory.bind(auth);
  const createUserTokenClient = auth.createUserTokenClient.bind(auth);
  auth.authenticateRequest = async (activity, authHeader) => {
    const result = await authenticateRequest(activity, authHeader);
    return result.connectorFactory ? { ...result, connectorFactory: caching(result.connectorFactory, appIdOf(result.claimsIdentity)) } : result;
  };
  auth.createConnectorFactory = (claimsIdentity) => caching(createConnectorFactory(claimsIdentity), appIdOf(claimsIdentity));
  auth.createUserTokenClient = (claimsIdentity) => remember(userTokens, appIdOf(claimsIdentity), () => createUserTokenClient(claimsIdentity));
  return auth;
}

// AuthenticationConstants.AudienceClaim / AppIdClaim, as botframework-connector's getAppId reads them.
function appIdOf(identity: ClaimsIdentity): string {
  return identity.getClaimValue('aud') ?? identity.getClaimValue('appid') ?? '';
}
