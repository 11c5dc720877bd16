// Regions and zones the simulator serves (every project sees the same ones).
import { invalidField, reject } from './errors.ts';

export type RegionMap = Readonly<Record<string, readonly string[]>>;

export const DEFAULT_REGIONS: RegionMap = {
  'us-central1': ['us-central1-a', 'us-central1-b', 'us-central1-c'],
  'europe-west1': ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'],
};

const NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export class Topology {
  private readonly regions: Map<string, readonly string[]>;
  private readonly zoneRegion = new Map<string, string>();

  /** Throws an Error naming the problem when the map is not usable. */
  constructor(regions: RegionMap) {
    this.regions = new Map(Object.entries(regions));
    if (this.regions.size === 0) throw new Error('gcp-sim: at least one region is needed');
    for (const [region, zones] of this.regions) {
      if (!NAME.test(region)) throw new Error(`gcp-sim: '${region}' is not a region name`);
      if (zones.length === 0) throw new Error(`gcp-sim: region ${region} has no zones`);
      for (const zone of zones) {
        if (!NAME.test(zone)) throw new Error(`gcp-sim: '${zone}' is not a zone name`);
        if (this.zoneRegion.has(zone)) throw new Error(`gcp-sim: zone ${zone} is listed twice`);
        this.zoneRegion.set(zone, region);
      }
    }
  }

  regionNames(): string[] {
    return [...this.regions.keys()];
  }

  zoneNames(): string[] {
    return [...this.zoneRegion.keys()];
  }

  hasRegion(region: string): boolean {
    return this.regions.has(region);
  }

  regionOfZone(zone: string): string | undefined {
    return this.zoneRegion.get(zone);
  }

  zonesOf(region: string): readonly string[] {
    return this.regions.get(region) ?? [];
  }

  requireRegion(region: string): void {
    if (!this.regions.has(region)) reject(invalidField('region', region, 'Unknown region.'));
  }

  requireZone(zone: string): string {
    const region = this.zoneRegion.get(zone);
    if (!region) reject(invalidField('zone', zone, 'Unknown zone.'));
    return region;
  }

  toJSON(): Record<string, readonly string[]> {
    return Object.fromEntries(this.regions);
  }
}

// Ranges of GCP's auto-mode "default" network for regions whose range we know; other regions get a
// deterministic range of their own under 10.200.0.0/13.
const AUTO_MODE_RANGES: Readonly<Record<string, string>> = {
  'us-central1': '10.128.0.0/20',
  'europe-west1': '10.132.0.0/20',
  'us-west1': '10.138.0.0/20',
  'asia-east1': '10.140.0.0/20',
  'us-east1': '10.142.0.0/20',
};

export function defaultSubnetRange(region: string, index: number): string {
  return AUTO_MODE_RANGES[region] ?? `10.${200 + Math.floor(index / 16)}.${(index % 16) * 16}.0/20`;
}
