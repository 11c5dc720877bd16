// Faults on demand: rate-limit errors, 5xx, and operations that fail at DONE; for the next N matching
// calls or at a rate (a seeded generator, so a run can be repeated).
import { isRecord } from './json.ts';

export interface FaultTrigger {
  /** The next N matching calls get the fault (counts down to 0). */
  nextN?: number;
  /** After those, each matching call gets it with this probability (0..1). */
  rate?: number;
  /**
   * Method ids the fault applies to (e.g. "forwardingRules.insert"); `*` is a wildcard
   * ("*.insert", "regionOperations.*"). Absent: every Compute method.
   */
  methods?: string[];
}

export interface RateLimitFault extends FaultTrigger {
  /** 403 rateLimitExceeded (Compute's usual answer) or 429 RESOURCE_EXHAUSTED. Default 403. */
  status?: 403 | 429;
}

export interface ServerErrorFault extends FaultTrigger {
  /** Default 503. */
  status?: 500 | 502 | 503;
  /**
   * A mutating call is carried out (its operation starts, its requestId is remembered) and only the
   * answer is an error: the "did my insert happen?" case that requestId exists for. Default false.
   */
  afterApplying?: boolean;
}

export interface OperationErrorFault extends FaultTrigger {
  /** operation.error.errors[0].code. Default INTERNAL_ERROR. */
  code?: string;
  message?: string;
  /** httpErrorStatusCode of the failed operation. Default 500. */
  httpStatus?: number;
}

export interface FaultsConfig {
  rateLimit?: RateLimitFault;
  serverError?: ServerErrorFault;
  /** Mutating calls whose operation then fails at DONE without applying anything. */
  operationError?: OperationErrorFault;
}

type FaultKind = keyof FaultsConfig;

function problem(path: string, why: string): Error {
  return new Error(`gcp-sim faults: ${path} ${why}`);
}

function readTrigger(value: unknown, path: string): FaultTrigger {
  if (!isRecord(value)) throw problem(path, 'must be an object');
  const trigger: FaultTrigger = {};
  if (value.nextN !== undefined) {
    if (typeof value.nextN !== 'number' || !Number.isInteger(value.nextN) || value.nextN < 0) {
      throw problem(`${path}.nextN`, 'must be a whole number ≥ 0');
    }
    trigger.nextN = value.nextN;
  }
  if (value.rate !== undefined) {
    if (typeof value.rate !== 'number' || !(value.rate >= 0 && value.rate <= 1)) {
      throw problem(`${path}.rate`, 'must be a number between 0 and 1');
    }
    trigger.rate = value.rate;
  }
  if (value.methods !== undefined) {
    if (!Array.isArray(value.methods) || !value.methods.every((method) => typeof method === 'string')) {
      throw problem(`${path}.methods`, 'must be a list of method ids');
    }
    trigger.methods = [...value.methods];
  }
  return trigger;
}

function oneOf<T>(value: unknown, allowed: readonly T[], path: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw problem(path, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Checks a faults configuration from a test or from the /_sim/faults body. Throws an Error naming the problem. */
export function readFaults(value: unknown): FaultsConfig {
  if (!isRecord(value)) throw problem('config', 'must be an object');
  const known = new Set(['rateLimit', 'serverError', 'operationError']);
  for (const key of Object.keys(value)) if (!known.has(key)) throw problem(key, 'is not a fault kind');
  const faults: FaultsConfig = {};
  if (value.rateLimit !== undefined) {
    const raw = value.rateLimit as Record<string, unknown>;
    faults.rateLimit = { ...readTrigger(raw, 'rateLimit') };
    const status = oneOf(raw.status, [403, 429] as const, 'rateLimit.status');
    if (status) faults.rateLimit.status = status;
  }
  if (value.serverError !== undefined) {
    const raw = value.serverError as Record<string, unknown>;
    faults.serverError = { ...readTrigger(raw, 'serverError') };
    const status = oneOf(raw.status, [500, 502, 503] as const, 'serverError.status');
    if (status) faults.serverError.status = status;
    if (raw.afterApplying !== undefined) {
      if (typeof raw.afterApplying !== 'boolean')
        throw problem('serverError.afterApplying', 'must be a boolean');
      faults.serverError.afterApplying = raw.afterApplying;
    }
  }
  if (value.operationError !== undefined) {
    const raw = value.operationError as Record<string, unknown>;
    faults.operationError = { ...readTrigger(raw, 'operationError') };
    if (raw.code !== undefined) {
      if (typeof raw.code !== 'string' || raw.code === '')
        throw problem('operationError.code', 'must be text');
      faults.operationError.code = raw.code;
    }
    if (raw.message !== undefined) {
      if (typeof raw.message !== 'string') throw problem('operationError.message', 'must be text');
      faults.operationError.message = raw.message;
    }
    if (raw.httpStatus !== undefined) {
      if (typeof raw.httpStatus !== 'number' || !Number.isInteger(raw.httpStatus)) {
        throw problem('operationError.httpStatus', 'must be an HTTP status code');
      }
      faults.operationError.httpStatus = raw.httpStatus;
    }
  }
  return faults;
}

function methodMatches(patterns: readonly string[] | undefined, method: string): boolean {
  if (!patterns) return true;
  return patterns.some((pattern) => {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${source}$`).test(method);
  });
}

/** mulberry32: small, seedable, good enough to spread injected faults. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private config: FaultsConfig = {};
  private random: () => number;
  private readonly seed: number;
  /** How many times each kind fired, for tests that want to know a fault really happened. */
  private readonly fired: Record<FaultKind, number> = { rateLimit: 0, serverError: 0, operationError: 0 };

  constructor(seed: number) {
    this.seed = seed;
    this.random = generator(seed);
  }

  set(config: FaultsConfig): void {
    this.config = structuredClone(config);
  }

  get(): FaultsConfig {
    return structuredClone(this.config);
  }

  firedCounts(): Record<FaultKind, number> {
    return { ...this.fired };
  }

  /** Decides whether this call gets the fault, counting nextN down. */
  fires<K extends FaultKind>(kind: K, method: string): NonNullable<FaultsConfig[K]> | undefined {
    const fault = this.config[kind];
    if (!fault || !methodMatches(fault.methods, method)) return undefined;
    let hit = false;
    if (fault.nextN !== undefined && fault.nextN > 0) {
      fault.nextN -= 1;
      hit = true;
    } else if (fault.rate !== undefined && fault.rate > 0) {
      hit = this.random() < fault.rate;
    }
    if (!hit) return undefined;
    this.fired[kind] += 1;
    return fault as NonNullable<FaultsConfig[K]>;
  }

  reset(): void {
    this.config = {};
    this.random = generator(this.seed);
    for (const kind of Object.keys(this.fired) as FaultKind[]) this.fired[kind] = 0;
  }
}
