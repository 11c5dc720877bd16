// The status an AddressPool shows: counts per family and the conditions Ready and Conflicting.
// Pure: the time is passed in, and a condition keeps its lastTransitionTime while its status holds,
// so an unchanged pool yields exactly the status it already has (and nothing is written).
import type { WatchedObject } from '../provider.ts';
import { boundText } from './message-limit.ts';

export interface PoolUsage {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
  /** Overlaps with other pools, described; empty when there are none. */
  conflicts: string[];
  /** True when this pool is the newer one of an overlap and hands out nothing new. */
  conflicting?: boolean;
  disabled?: boolean;
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export function poolStatus(
  object: WatchedObject,
  usage: PoolUsage,
  problems: readonly string[],
  now: Date,
): Record<string, unknown> {
  const generation = object.metadata?.generation;
  const previous = currentConditions(object.status);
  const condition = (type: string, status: 'True' | 'False', reason: string, message: string): Condition => {
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message: boundText(message),
      lastTransitionTime:
        before?.status === status && typeof before.lastTransitionTime === 'string'
          ? before.lastTransitionTime
          : rfc3339(now),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  };
  const ready =
    problems.length > 0
      ? condition('Ready', 'False', 'InvalidSpec', problems.join('; '))
      : usage.conflicting
        ? condition('Ready', 'False', 'Conflicting', 'overlaps an older pool; it hands out no new addresses')
        : usage.disabled
          ? condition('Ready', 'False', 'Disabled', 'spec.disabled: it hands out no new addresses')
          : condition('Ready', 'True', 'Ready', 'the pool hands out addresses');
  const conflicting =
    usage.conflicts.length > 0
      ? condition('Conflicting', 'True', 'Overlap', usage.conflicts.join('; '))
      : condition('Conflicting', 'False', 'NoOverlap', 'no other pool shares its addresses');
  return {
    assignedIPv4: usage.assignedIPv4,
    assignedIPv6: usage.assignedIPv6,
    availableIPv4: usage.availableIPv4,
    availableIPv6: usage.availableIPv6,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [ready, conflicting],
  };
}

function currentConditions(status: unknown): Array<Partial<Condition>> {
  const conditions = (status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions) ? (conditions as Array<Partial<Condition>>) : [];
}

/** Seconds precision, as the apiserver writes times. */
function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
