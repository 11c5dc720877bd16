// The provider registry: adding a provider means adding a folder and one line here.
import type { Config } from '../config/config.ts';
import { PoolProvider } from './pool/provider.ts';
import type { Provider } from './provider.ts';

export function createProvider(config: Config): Provider {
  switch (config.provider) {
    case 'pool':
      return new PoolProvider() as Provider;
  }
}
