// Carries out a plan: public IPs are started (PUT or DELETE, never waited for: the next reconcile reads their
// state), slices are handed to the shared resources' writers (which write in the background), and the plan's
// outcome becomes the provider's answer. Never blocks a worker on a long-running operation.

import type { Logger } from '../../observability/logger.ts';
import type { ApplyResult, RemoveResult } from '../provider.ts';
import type { ClusterResources } from './cluster-resources.ts';
import { ArmCallError, ArmThrottledError, traceIds, userFailureReason } from './errors.ts';
import type { AzurePlan, AzureRemovalPlan, AzureStep, Notice } from './model.ts';

export interface ApplyDeps {
  cluster: ClusterResources;
  logger: Logger;
  /** When a pending Service is looked at again. */
  requeueMs: number;
}

type StepOutcome =
  | { kind: 'ok' }
  | { kind: 'throttled'; retryAfterMs: number; message: string }
  | { kind: 'failed'; reason: string; message: string };

async function runStep(step: AzureStep, deps: ApplyDeps): Promise<StepOutcome> {
  const { cluster } = deps;
  try {
    switch (step.kind) {
      case 'putPublicIp':
        await cluster.resources.startPutPublicIp(step.resourceGroup, step.name, step.body);
        return { kind: 'ok' };
      case 'deletePublicIp':
        await cluster.resources.startDeletePublicIp(step.resourceGroup, step.name);
        return { kind: 'ok' };
      case 'submitLoadBalancer':
        cluster.loadBalancerWriters[step.visibility].submit(step.owner, step.slice, step.key);
        return { kind: 'ok' };
      case 'refreshBackendPool':
        cluster.loadBalancerWriters[step.visibility].refresh(step.force ?? false);
        return { kind: 'ok' };
      case 'submitSecurityGroup': {
        const ref = await cluster.securityGroupRef();
        if (ref) cluster.securityGroupWriter(ref).submit(step.owner, step.slice, step.key);
        return { kind: 'ok' };
      }
      case 'forgetFailure': {
        const writer =
          step.writer === 'securityGroup'
            ? cluster.currentSecurityGroupWriter()
            : cluster.loadBalancerWriters[step.writer];
        writer?.forget(step.owner, step.key);
        return { kind: 'ok' };
      }
    }
  } catch (error) {
    if (error instanceof ArmThrottledError) {
      return { kind: 'throttled', retryAfterMs: error.retryAfterMs, message: error.message };
    }
    if (error instanceof ArmCallError) {
      const { failure } = error;
      // The public IP is still in use / still changing: the next reconcile tries again.
      // A leftover that cannot be deleted now never fails the Service: it is tried again on the next reconcile.
      if (
        failure.kind === 'conflict' ||
        failure.kind === 'transient' ||
        failure.kind === 'notFound' ||
        step.kind === 'deletePublicIp'
      ) {
        deps.logger.info({ step: step.kind, code: failure.code }, `${step.kind}: ${failure.message}; later`);
        return { kind: 'ok' };
      }
      return {
        kind: 'failed',
        reason: userFailureReason(failure),
        message: `${error.api}: ${failure.code}: ${failure.message}${traceIds(failure)}`,
      };
    }
    throw error;
  }
}

async function runSteps(steps: readonly AzureStep[], deps: ApplyDeps): Promise<StepOutcome> {
  for (const step of steps) {
    const outcome = await runStep(step, deps);
    if (outcome.kind !== 'ok') return outcome;
  }
  return { kind: 'ok' };
}

export async function applyPlan(plan: AzurePlan, deps: ApplyDeps): Promise<ApplyResult> {
  if (plan.backendPool !== undefined) deps.cluster.setBackendPool(plan.backendPool);
  const done = await runSteps(plan.steps, deps);
  if (done.kind === 'throttled') {
    return { kind: 'pending', reason: 'Throttled', message: done.message, retryAfterMs: done.retryAfterMs };
  }
  if (done.kind === 'failed') return { kind: 'failed', reason: done.reason, message: done.message };
  const outcome = plan.outcome;
  switch (outcome.kind) {
    case 'failed':
      return { kind: 'failed', reason: outcome.reason, message: outcome.message };
    case 'pending':
      return {
        kind: 'pending',
        reason: outcome.reason,
        message: outcome.message,
        retryAfterMs: outcome.retryAfterMs ?? deps.requeueMs,
      };
    case 'ready':
      return {
        kind: 'ready',
        ingress: [{ ip: outcome.address, ipMode: 'VIP' }],
        changed: outcome.changed.map((c: Notice) => ({ reason: c.reason, message: c.message })),
        released: [],
        ...(outcome.notices.length > 0 ? { notices: outcome.notices } : {}),
      };
  }
}

export async function applyRemoval(plan: AzureRemovalPlan, deps: ApplyDeps): Promise<RemoveResult> {
  if (plan.gone) return { kind: 'gone', released: [] };
  const done = await runSteps(plan.steps, deps);
  if (done.kind === 'throttled')
    return { kind: 'pending', message: done.message, retryAfterMs: done.retryAfterMs };
  const message = done.kind === 'failed' ? done.message : `removing ${plan.waitingFor.join(', ')}`;
  return { kind: 'pending', message, retryAfterMs: deps.requeueMs };
}
