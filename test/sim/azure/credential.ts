// The credential a client uses against the simulator: a TokenCredential that hands out the simulator's
// static access token. It needs no Azure account and never touches the network (no Microsoft Entra ID, no
// instance metadata service), unlike every credential in @azure/identity.

import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

export interface SimulatorCredential extends TokenCredential {
  /** The scopes getToken was asked for, newest last (the SDK asks for `<endpoint>/.default`). */
  readonly requestedScopes: string[][];
}

export function simulatorCredential(accessToken: string, lifetimeMs = 60 * 60 * 1000): SimulatorCredential {
  const requestedScopes: string[][] = [];
  return {
    requestedScopes,
    async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
      requestedScopes.push(Array.isArray(scopes) ? [...scopes] : [scopes]);
      return { token: accessToken, expiresOnTimestamp: Date.now() + lifetimeMs, tokenType: 'Bearer' };
    },
  };
}
