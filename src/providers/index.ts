// The provider registry: adding a provider means adding a folder and one line here.

import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Metrics } from '../observability/metrics.ts';
import { AwsProvider } from './aws/provider.ts';
import { PoolProvider } from './pool/provider.ts';
import type { Provider } from './provider.ts';

export interface ProviderDeps {
  log: Logger;
  metrics: Metrics;
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
        onCall: (call) =>
          deps.metrics.recordCloudCall({
            service: call.service,
            operation: call.api,
            outcome: call.outcome,
            seconds: call.durationMs / 1000,
          }),
      }) as Provider;
    case 'gcp':
    case 'azure':
      throw new Error(`the ${config.provider} provider is being built`);
  }
}
