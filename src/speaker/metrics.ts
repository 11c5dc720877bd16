// Prometheus metrics of one speaker (its own registry, so tests can run several in one process).
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export class SpeakerMetrics {
  readonly registry = new Registry();
  readonly announcedAddresses = new Gauge({
    name: 'sluice_speaker_announced_addresses',
    help: 'Addresses this node announces now.',
    registers: [this.registry],
  });
  readonly announcements = new Counter({
    name: 'sluice_speaker_announcements_total',
    help: 'Times this node started announcing an address.',
    registers: [this.registry],
  });
  readonly withdrawals = new Counter({
    name: 'sluice_speaker_withdrawals_total',
    help: 'Times this node stopped announcing an address.',
    registers: [this.registry],
  });
  readonly heartbeats = new Counter({
    name: 'sluice_speaker_heartbeat_renewals_total',
    help: 'Heartbeat Lease renewals by result (success, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly freshSpeakers = new Gauge({
    name: 'sluice_speaker_fresh_speakers',
    help: 'Speakers (including this one) whose heartbeat this speaker sees as fresh.',
    registers: [this.registry],
  });
  readonly fenced = new Gauge({
    name: 'sluice_speaker_fenced',
    help: '1 while this speaker may not announce because its own heartbeat is not current.',
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'sluice_speaker_commands_total',
    help: 'System commands run (ip, arping, na6) by result.',
    labelNames: ['command', 'result'] as const,
    registers: [this.registry],
  });
  readonly kubeWrites = new Counter({
    name: 'sluice_speaker_kube_writes_total',
    help: 'Writes to the Kubernetes API by resource and verb (heartbeats not included).',
    labelNames: ['resource', 'verb'] as const,
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: 'sluice_speaker_watch_restarts_total',
    help: 'Watch restarts by resource and reason (error, watchdog, gone, relist, closed).',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
