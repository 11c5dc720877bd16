// The provider registry: adding a provider means adding a folder and one line here.

import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Metrics } from '../observability/metrics.ts';
import { AwsProvider } from './aws/provider.ts';
import { AzureProvider } from './azure/provider.ts';
import { GcpProvider } from './gcp/provider.ts';
import { PoolProvider } from './pool/provider.ts';
import type { Provider } from './provider.ts';

export interface ProviderDeps {
  log: Logger;
  metrics: Metrics;
}

/** Every cloud client reports each API call attempt the same way: into the cloud-call metrics. */
function recordCall(deps: ProviderDeps) {
  return (call: { service: string; api: string; outcome: string; durationMs: number }): void =>
    deps.metrics.recordCloudCall({
      service: call.service,
      operation: call.api,
      outcome: call.outcome,
      seconds: call.durationMs / 1000,
    });
}

export function createProvider(config: Config, deps: ProviderDeps): Provider {
  switch (config.provider) {
    case 'pool':
      return new PoolProvider() as Provider;
    case 'aws':
      // loadConfig fills config.aws whenever the provider is aws.
      return new AwsProvider({
        ...config.aws!,
        cluster: config.clusterName,
        logger: deps.log.child({ provider: 'aws' }),
        onCall: recordCall(deps),
      }) as Provider;
    case 'azure': {
      // loadConfig fills config.azure whenever the provider is azure.
      const { caFile, ...azure } = config.azure!;
      return new AzureProvider({
        ...azure,
        // The CA of an emulator's endpoint (tests, demo); a real ARM endpoint needs none.
        ...(caFile ? { caCertificate: readFileSync(caFile, 'utf8') } : {}),
        cluster: config.clusterName,
        logger: deps.log,
        onCall: recordCall(deps),
      }) as Provider;
    }
    case 'gcp': {
      // loadConfig fills config.gcp whenever the provider is gcp.
      const { endpoint, ...gcp } = config.gcp!;
      return new GcpProvider({
        config: { ...gcp, cluster: config.clusterName },
        ...(endpoint ? { endpoint } : {}),
        logger: deps.log,
        onCall: recordCall(deps),
      }) as Provider;
    }
  }
}
