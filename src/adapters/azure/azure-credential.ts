import { ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import type { TokenCredential, TokenCredentialOptions } from '@azure/identity';
import type { Secret } from '../../domain/secret.ts';
import { AppError } from '../../domain/errors.ts';

export type { TokenCredential };

/** The Entra ID application the bot signs in as (main.ts passes the validated AZURE_* configuration). */
export interface AzureCredentialSettings {
  tenantId: string;
  clientId: string;
  clientSecret?: Secret;
  certificatePath?: string;
  managedIdentity: boolean;
  authorityHost: string;
}

export interface AzureCredentialOptions {
  /** Upper bound for each HTTP call the credential makes (token endpoint, IMDS). */
  timeoutMs: number;
}

const PUBLIC_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/**
 * The one Entra ID credential the alert sources and Graph calls share: a client secret, a
 * certificate (PEM file holding the private key and certificate) or a managed identity, in that
 * order of what the configuration names.
 */
export function createAzureCredential(azure: AzureCredentialSettings, options: AzureCredentialOptions): TokenCredential {
  const authorityHost = azure.authorityHost.replace(/\/+$/, '');
  const common: TokenCredentialOptions = {
    authorityHost,
    // @azure/identity has no timeout setting; the HTTP pipeline honours request.timeout, and
    // without it a stalled token endpoint hangs the poll forever.
    additionalPolicies: [
      {
        position: 'perCall',
        policy: {
          name: 'incidentBotTokenTimeout',
          sendRequest(request, next) {
            if (!request.timeout || request.timeout > options.timeoutMs) request.timeout = options.timeoutMs;
            return next(request);
          },
        },
      },
    ],
  };
  // MSAL validates a non-public authority by asking login.microsoftonline.com for instance
  // metadata: that fails offline and is pointless for national clouds and local stand-ins.
  const discovery = authorityHost.toLowerCase() === PUBLIC_AUTHORITY_HOST ? {} : { disableInstanceDiscovery: true };

  if (azure.managedIdentity) {
    const { authorityHost: _unused, ...withoutAuthority } = common;
    return azure.clientId
      ? new ManagedIdentityCredential({ ...withoutAuthority, clientId: azure.clientId })
      : new ManagedIdentityCredential(withoutAuthority);
  }
  if (!azure.tenantId || !azure.clientId) {
    throw new AppError('CONFIG_INVALID', 'AZURE_TENANT_ID and AZURE_CLIENT_ID are required for a client secret or certificate credential.');
  }
  if (azure.clientSecret) {
    return new ClientSecretCredential(azure.tenantId, azure.clientId, azure.clientSecret.reveal(), { ...common, ...discovery });
  }
  if (azure.certificatePath) {
    return new ClientCertificateCredential(azure.tenantId, azure.clientId, { certificatePath: azure.certificatePath }, { ...common, ...discovery });
  }
  throw new AppError('CONFIG_INVALID', 'Set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_MANAGED_IDENTITY=true to sign in to Entra ID.');
}
