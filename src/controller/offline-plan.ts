// `sluice plan`: what Sluice would decide and do for the given manifests, computed entirely
// offline against a scratch provider (AddressPools in the same files feed the pool provider).
import type { V1Service } from '@kubernetes/client-node';
import { decide } from '../intent/decide.ts';
import { PoolProvider } from '../providers/pool/provider.ts';
import { capabilityProblems } from './capabilities.ts';

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: unknown;
}

export async function planServices(objects: unknown[]): Promise<unknown[]> {
  const manifests = objects as Manifest[];
  const provider = new PoolProvider();
  const poolProblems = provider.setPools(manifests.filter((m) => m.kind === 'AddressPool'));
  const output: unknown[] = poolProblems.map((p) => ({ addressPool: p.name, problem: p.message }));
  for (const m of manifests) {
    if (m.kind !== 'Service') continue;
    const service = {
      ...m,
      metadata: { namespace: 'default', ...m.metadata },
    } as V1Service;
    const { intent, problems } = decide(service);
    problems.push(...capabilityProblems(intent, provider.capabilities, provider.name));
    const entry: Record<string, unknown> = {
      service: `${intent.service.namespace}/${intent.service.name}`,
      intent,
      problems,
    };
    if (service.spec?.type !== 'LoadBalancer')
      entry.note = 'not a LoadBalancer Service: Sluice would not act on it';
    else if (!problems.some((p) => p.severity === 'error')) {
      const plan = provider.plan(intent, await provider.observe(intent));
      entry.plan = plan;
      entry.result = await provider.apply(intent, plan);
    }
    output.push(entry);
  }
  return output;
}
