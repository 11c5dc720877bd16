// Faults on demand, per subscription (or all): HTTP errors for the next N matching calls or a fraction of
// them (spread deterministically, so a test is repeatable), before the request takes effect or after it
// (the nasty case: the write happened, the client saw an error); provisioning failures of the next N
// operations; and ARM's token-bucket throttling of reads, writes and deletes.

import { type ArmError, injectedFault, throttled } from './arm-errors.ts';

export interface CallInfo {
  subscriptionId: string;
  method: string;
  /** e.g. loadBalancers, networkSecurityGroups/securityRules, operations. */
  resourceType: string;
}

interface Matcher {
  /** Only this subscription; default every subscription. */
  subscriptionId?: string;
  /** HTTP methods; default all. */
  methods?: string[];
  /** Resource types as in CallInfo; default all. */
  resourceTypes?: string[];
}

export interface FaultRule extends Matcher {
  /** HTTP status to answer, 400-599 (429 and 5xx are the usual). */
  status: number;
  code?: string;
  message?: string;
  /** Sent as Retry-After (whole seconds). */
  retryAfterSeconds?: number;
  /** Fire on the next N matching calls, then retire. */
  nextCalls?: number;
  /** Fire on this fraction (0-1] of matching calls: 0.25 fires on every 4th. */
  rate?: number;
  /** `after`: let the request take effect, then answer with the fault. Default `before`. */
  when?: 'before' | 'after';
}

export interface OperationFailureRule extends Matcher {
  code?: string;
  message?: string;
  /** How many operations fail. Default 1. */
  count?: number;
}

export interface TokenBucket {
  capacity: number;
  refillPerSecond: number;
}

export interface ThrottlingConfig {
  reads?: TokenBucket;
  writes?: TokenBucket;
  deletes?: TokenBucket;
}

export interface FaultView {
  id: number;
  rule: FaultRule;
  hits: number;
  remaining?: number;
}

interface ActiveFault {
  id: number;
  rule: FaultRule;
  hits: number;
  remaining?: number;
  credit: number;
}

function matches(m: Matcher, call: CallInfo): boolean {
  if (m.subscriptionId && m.subscriptionId.toLowerCase() !== call.subscriptionId.toLowerCase()) return false;
  if (m.methods && !m.methods.some((x) => x.toUpperCase() === call.method)) return false;
  if (m.resourceTypes && !m.resourceTypes.some((x) => x.toLowerCase() === call.resourceType.toLowerCase()))
    return false;
  return true;
}

function checkMatcher(m: Matcher): string | undefined {
  if (
    m.methods !== undefined &&
    (!Array.isArray(m.methods) || !m.methods.every((x) => typeof x === 'string'))
  ) {
    return 'methods must be a list of HTTP methods';
  }
  if (
    m.resourceTypes !== undefined &&
    (!Array.isArray(m.resourceTypes) || !m.resourceTypes.every((x) => typeof x === 'string'))
  ) {
    return 'resourceTypes must be a list of resource types such as loadBalancers';
  }
  if (m.subscriptionId !== undefined && typeof m.subscriptionId !== 'string')
    return 'subscriptionId must be a string';
  return undefined;
}

export function checkFaultRule(rule: FaultRule): string | undefined {
  if (!Number.isInteger(rule.status) || rule.status < 400 || rule.status > 599)
    return 'status must be an HTTP error status (400-599)';
  if (rule.nextCalls !== undefined && (!Number.isInteger(rule.nextCalls) || rule.nextCalls < 1))
    return 'nextCalls must be a whole number >= 1';
  if (rule.rate !== undefined && (typeof rule.rate !== 'number' || !(rule.rate > 0 && rule.rate <= 1)))
    return 'rate must be in (0, 1]';
  if (
    rule.retryAfterSeconds !== undefined &&
    (!Number.isInteger(rule.retryAfterSeconds) || rule.retryAfterSeconds < 0)
  ) {
    return 'retryAfterSeconds must be a whole number >= 0';
  }
  if (rule.when !== undefined && rule.when !== 'before' && rule.when !== 'after')
    return "when must be 'before' or 'after'";
  if (rule.when === 'after' && rule.status === 429)
    return "a 429 is never sent after the request took effect; use when: 'before'";
  return checkMatcher(rule);
}

export function checkOperationFailure(rule: OperationFailureRule): string | undefined {
  if (rule.count !== undefined && (!Number.isInteger(rule.count) || rule.count < 1))
    return 'count must be a whole number >= 1';
  return checkMatcher(rule);
}

export function checkThrottling(config: ThrottlingConfig): string | undefined {
  for (const [kind, bucket] of Object.entries(config)) {
    if (!['reads', 'writes', 'deletes'].includes(kind))
      return `unknown throttling class ${kind}; use reads, writes, deletes`;
    if (bucket === undefined) continue;
    if (!(bucket.capacity >= 1) || !(bucket.refillPerSecond > 0))
      return `${kind}: capacity must be >= 1 and refillPerSecond > 0`;
  }
  return undefined;
}

interface BucketState {
  bucket: TokenBucket;
  tokens: number;
  at: number;
}

export class Faults {
  #nextId = 1;
  #faults: ActiveFault[] = [];
  #failures: Array<{ rule: OperationFailureRule; remaining: number }> = [];
  /** subscription (lower-case, or '*') → throttling config */
  #throttling = new Map<string, ThrottlingConfig>();
  /** subscription|class → bucket */
  #buckets = new Map<string, BucketState>();

  add(rule: FaultRule): FaultView {
    const fault: ActiveFault = { id: this.#nextId++, rule: { ...rule }, hits: 0, credit: 0 };
    if (rule.nextCalls !== undefined) fault.remaining = rule.nextCalls;
    this.#faults.push(fault);
    return this.#view(fault);
  }

  list(): FaultView[] {
    return this.#faults.map((f) => this.#view(f));
  }

  remove(id: number): boolean {
    const before = this.#faults.length;
    this.#faults = this.#faults.filter((f) => f.id !== id);
    return this.#faults.length !== before;
  }

  failOperations(rule: OperationFailureRule): void {
    this.#failures.push({ rule: { ...rule }, remaining: rule.count ?? 1 });
  }

  setThrottling(subscriptionId: string | undefined, config: ThrottlingConfig | undefined): void {
    const key = (subscriptionId ?? '*').toLowerCase();
    if (config) this.#throttling.set(key, config);
    else this.#throttling.delete(key);
    for (const bucketKey of [...this.#buckets.keys()])
      if (key === '*' || bucketKey.startsWith(`${key}|`)) this.#buckets.delete(bucketKey);
  }

  clear(): void {
    this.#faults = [];
    this.#failures = [];
    this.#throttling.clear();
    this.#buckets.clear();
  }

  /** The fault to answer this call with in `phase`, if one fires. */
  pick(call: CallInfo, phase: 'before' | 'after'): ArmError | undefined {
    for (const fault of this.#faults) {
      if ((fault.rule.when ?? 'before') !== phase || !matches(fault.rule, call)) continue;
      if (fault.rule.rate !== undefined) {
        fault.credit += fault.rule.rate;
        if (fault.credit < 1 - 1e-9) continue;
        fault.credit -= 1;
      }
      fault.hits++;
      if (fault.remaining !== undefined) {
        fault.remaining--;
        if (fault.remaining <= 0) this.remove(fault.id);
      }
      const { status, code, message, retryAfterSeconds } = fault.rule;
      return injectedFault(status, code, message, retryAfterSeconds);
    }
    return undefined;
  }

  /** An injected failure for the operation this call starts, if one is queued. */
  takeOperationFailure(call: CallInfo): ArmError | undefined {
    const entry = this.#failures.find((f) => matches(f.rule, call));
    if (!entry) return undefined;
    entry.remaining--;
    if (entry.remaining <= 0) this.#failures = this.#failures.filter((f) => f !== entry);
    return injectedFault(
      500,
      entry.rule.code ?? 'InternalServerError',
      entry.rule.message ?? 'The operation failed to provision (failure injected by the ARM simulator).',
    );
  }

  /**
   * ARM's token buckets: takes a token of the call's class, or answers 429 with the seconds until one is back.
   * Also returns the tokens left, for the x-ms-ratelimit-remaining-subscription-* header.
   */
  throttle(call: CallInfo, now: number): { error?: ArmError; header?: [string, string] } {
    const config = this.#throttling.get(call.subscriptionId.toLowerCase()) ?? this.#throttling.get('*');
    if (!config) return {};
    const kind =
      call.method === 'GET' || call.method === 'HEAD'
        ? 'reads'
        : call.method === 'DELETE'
          ? 'deletes'
          : 'writes';
    const bucket = config[kind];
    if (!bucket) return {};
    const key = `${call.subscriptionId.toLowerCase()}|${kind}`;
    const state = this.#buckets.get(key) ?? { bucket, tokens: bucket.capacity, at: now };
    state.tokens = Math.min(
      bucket.capacity,
      state.tokens + ((now - state.at) / 1000) * bucket.refillPerSecond,
    );
    state.at = now;
    this.#buckets.set(key, state);
    const header: [string, string] = [
      `x-ms-ratelimit-remaining-subscription-${kind}`,
      String(Math.max(0, Math.floor(state.tokens - 1))),
    ];
    if (state.tokens < 1) {
      const seconds = Math.max(1, Math.ceil((1 - state.tokens) / bucket.refillPerSecond));
      return { error: throttled(call.subscriptionId, kind.slice(0, -1), seconds), header: [header[0], '0'] };
    }
    state.tokens -= 1;
    return { header };
  }

  #view(fault: ActiveFault): FaultView {
    const view: FaultView = { id: fault.id, rule: { ...fault.rule }, hits: fault.hits };
    if (fault.remaining !== undefined) view.remaining = fault.remaining;
    return view;
  }
}
