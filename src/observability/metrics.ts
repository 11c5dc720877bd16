// Prometheus metrics. One registry per process so tests can create several controllers.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'sluice_reconcile_total',
    help: 'Service reconciles by result (success, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'sluice_reconcile_duration_seconds',
    help: 'Time spent in one Service reconcile.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'sluice_workqueue_depth',
    help: 'Service keys waiting to be reconciled.',
    registers: [this.registry],
  });
  readonly kubeWrites = new Counter({
    name: 'sluice_kube_writes_total',
    help: 'Writes Sluice made to the Kubernetes API, by resource and verb.',
    labelNames: ['resource', 'verb'] as const,
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'sluice_events_dropped_total',
    help: 'Events not recorded because the event queue was full.',
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: 'sluice_watch_restarts_total',
    help: 'Watch restarts by resource and reason (error, watchdog, gone, relist, closed).',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });
  readonly managedLoadBalancers = new Gauge({
    name: 'sluice_managed_load_balancers',
    help: 'Services that currently have a load balancer from Sluice.',
    registers: [this.registry],
  });
  readonly cloudCalls = new Counter({
    name: 'sluice_cloud_calls_total',
    help: 'Calls to the cloud API by service, operation and outcome (ok, throttled, error).',
    labelNames: ['service', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly cloudCallDuration = new Histogram({
    name: 'sluice_cloud_call_duration_seconds',
    help: 'Time of one cloud API call, retries included, by service.',
    labelNames: ['service'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: 'sluice_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });

  /** For providers: one observation per cloud call (after its retries). */
  recordCloudCall(call: { service: string; operation: string; outcome: string; seconds: number }): void {
    this.cloudCalls.inc({ service: call.service, operation: call.operation, outcome: call.outcome });
    this.cloudCallDuration.observe({ service: call.service }, call.seconds);
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
