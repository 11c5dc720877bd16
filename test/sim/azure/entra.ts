// Just enough of Microsoft Entra ID for @azure/identity's client-credentials flows (a client secret, or a
// federated token as Workload Identity uses) to get the simulator's access token: the tenant's OpenID
// configuration and its token endpoint. With `authorityHost` set to the simulator and instance discovery
// disabled, ClientSecretCredential, WorkloadIdentityCredential and DefaultAzureCredential (Workload Identity
// variables set) authenticate without leaving loopback. Errors follow OAuth 2.0's { error, error_description }.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isArmError } from './arm-errors.ts';
import type { CallCounters } from './counters.ts';
import { readBody, sendJson } from './http.ts';

export interface EntraRoute {
  tenant: string;
  kind: 'openid-configuration' | 'token';
}

const OPENID = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/;
const TOKEN = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;

export function entraRoute(pathname: string): EntraRoute | undefined {
  const openid = OPENID.exec(pathname);
  if (openid?.[1]) return { tenant: openid[1], kind: 'openid-configuration' };
  const token = TOKEN.exec(pathname);
  if (token?.[1]) return { tenant: token[1], kind: 'token' };
  return undefined;
}

export interface EntraDeps {
  endpoint: () => string;
  accessToken: string;
  counters: CallCounters;
}

function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, {
    error,
    error_description: description,
    error_codes: [],
    timestamp: new Date().toISOString(),
  });
}

export async function handleEntra(
  req: IncomingMessage,
  res: ServerResponse,
  route: EntraRoute,
  deps: EntraDeps,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const base = `${deps.endpoint()}/${route.tenant}`;
  deps.counters.record(method, `entra/${route.kind}`);
  if (route.kind === 'openid-configuration') {
    if (method !== 'GET') return oauthError(res, 405, 'invalid_request', `${method} is not supported here`);
    return sendJson(res, 200, {
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
      response_types_supported: ['code', 'id_token', 'token'],
      tenant_region_scope: null,
    });
  }
  if (method !== 'POST') return oauthError(res, 405, 'invalid_request', 'the token endpoint takes POST');
  const text = await readBody(req);
  if (isArmError(text)) return oauthError(res, 413, 'invalid_request', text.message);
  const form = new URLSearchParams(text);
  const grant = form.get('grant_type');
  if (grant !== 'client_credentials') {
    return oauthError(
      res,
      400,
      'unsupported_grant_type',
      `grant_type ${grant ?? '(none)'} is not supported; the simulator issues client_credentials tokens`,
    );
  }
  if (!form.get('client_id')) return oauthError(res, 400, 'invalid_request', 'client_id is required');
  if (!form.get('client_secret') && !form.get('client_assertion')) {
    return oauthError(res, 401, 'invalid_client', 'give client_secret or client_assertion');
  }
  const scope = form.get('scope') ?? '';
  if (!scope.split(' ').some((s) => s.endsWith('/.default'))) {
    return oauthError(res, 400, 'invalid_scope', `scope must name a resource's /.default, got "${scope}"`);
  }
  return sendJson(res, 200, {
    token_type: 'Bearer',
    expires_in: 3599,
    ext_expires_in: 3599,
    access_token: deps.accessToken,
  });
}
