// Resource quotas: regional ones count resources per project and region, FIREWALLS per project.
// The defaults are round numbers of the order of a new project's, not GCP's exact figures.
import { isRecord } from './json.ts';

export const REGIONAL_QUOTA_METRICS = [
  'FORWARDING_RULES',
  'BACKEND_SERVICES',
  'HEALTH_CHECKS',
  'STATIC_ADDRESSES',
  'INTERNAL_ADDRESSES',
  'INSTANCE_GROUPS',
] as const;
export const PROJECT_QUOTA_METRICS = ['FIREWALLS'] as const;

export type RegionalQuotaMetric = (typeof REGIONAL_QUOTA_METRICS)[number];
export type QuotaMetric = RegionalQuotaMetric | (typeof PROJECT_QUOTA_METRICS)[number];
export type QuotaLimits = Partial<Record<QuotaMetric, number>>;

export const DEFAULT_QUOTAS: Readonly<Record<QuotaMetric, number>> = {
  FORWARDING_RULES: 75,
  BACKEND_SERVICES: 75,
  HEALTH_CHECKS: 75,
  STATIC_ADDRESSES: 21,
  INTERNAL_ADDRESSES: 200,
  INSTANCE_GROUPS: 100,
  FIREWALLS: 200,
};

const ALL_METRICS: ReadonlySet<string> = new Set([...REGIONAL_QUOTA_METRICS, ...PROJECT_QUOTA_METRICS]);

export function isRegionalMetric(metric: QuotaMetric): metric is RegionalQuotaMetric {
  return (REGIONAL_QUOTA_METRICS as readonly string[]).includes(metric);
}

/** Checks {METRIC: limit}. Throws an Error naming the problem. */
export function readQuotaLimits(value: unknown, path: string): QuotaLimits {
  if (!isRecord(value)) throw new Error(`gcp-sim quotas: ${path} must be an object`);
  const limits: QuotaLimits = {};
  for (const [metric, limit] of Object.entries(value)) {
    if (!ALL_METRICS.has(metric)) {
      throw new Error(
        `gcp-sim quotas: ${path}.${metric} is not a quota (known: ${[...ALL_METRICS].join(', ')})`,
      );
    }
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
      throw new Error(`gcp-sim quotas: ${path}.${metric} must be a whole number ≥ 0`);
    }
    limits[metric as QuotaMetric] = limit;
  }
  return limits;
}

export interface QuotaSettings {
  /** Limits for every region (regional metrics) and for the project (FIREWALLS). */
  limits?: QuotaLimits;
  /** Per-region overrides of regional limits. */
  regions?: Record<string, QuotaLimits>;
}

export class Quotas {
  private limits: QuotaLimits = {};
  private regions: Record<string, QuotaLimits> = {};

  constructor(settings: QuotaSettings = {}) {
    this.set(settings);
  }

  set(settings: QuotaSettings): void {
    this.limits = { ...settings.limits };
    this.regions = structuredClone(settings.regions ?? {});
  }

  get(): QuotaSettings {
    return { limits: { ...this.limits }, regions: structuredClone(this.regions) };
  }

  limit(metric: QuotaMetric, region?: string): number {
    const regional = region ? this.regions[region]?.[metric] : undefined;
    return regional ?? this.limits[metric] ?? DEFAULT_QUOTAS[metric];
  }
}
