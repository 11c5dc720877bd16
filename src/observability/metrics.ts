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
  readonly isLeader = new Gauge({
    name: 'sluice_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
