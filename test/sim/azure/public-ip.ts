// Microsoft.Network/publicIPAddresses: Standard, Static, IPv4 or IPv6. The address is allocated from the
// configured ranges when the address is created and kept for its life; ARM leaves it out of responses until
// the create operation succeeds. The DNS label makes `<label>.<region>.cloudapp.azure.com`, unique per region.

import { canonicalIp, type Family, nextFree, parseIp } from './addresses.ts';
import {
  type ArmError,
  basicPublicIpCountLimit,
  dnsRecordInUse,
  invalidDomainNameLabel,
  invalidProperty,
  isArmError,
  notModelled,
  propertyChangeNotAllowed,
  publicIpCountLimit,
  standardPublicIpMustBeStatic,
} from './arm-errors.ts';
import { idKey, normalizeLocation, sameId } from './arm-ids.ts';
import { isJsonObject, type JsonObject, objectAt, present, stringAt } from './json.ts';
import {
  type PreparedWrite,
  readEnum,
  readEnvelope,
  readInteger,
  readZones,
  skuName,
  skuTier,
  type WriteContext,
} from './resource-common.ts';
import type { ResourceRecord, SimStore } from './store.ts';

const DNS_LABEL = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;

export interface PublicIpOptions {
  /** Seeding a user-owned address: this exact address instead of one from the ranges. */
  requestedAddress?: string;
}

export function preparePublicIp(
  input: JsonObject,
  ctx: WriteContext,
  options: PublicIpOptions = {},
): PreparedWrite | ArmError {
  const envelope = readEnvelope(input, ctx);
  if (isArmError(envelope)) return envelope;
  const sku = skuName(input);
  if (sku === undefined || sku.toLowerCase() === 'basic') return basicPublicIpCountLimit();
  if (sku.toLowerCase() !== 'standard') return invalidProperty('sku.name', 'must be Standard');
  const tier = skuTier(input) ?? 'Regional';
  if (tier.toLowerCase() !== 'regional') return notModelled('cross-region (Global tier) public IP addresses');

  const p = envelope.properties;
  const path = 'properties';
  const method = readEnum(p, 'publicIPAllocationMethod', path, ['Static', 'Dynamic'], 'Dynamic');
  if (isArmError(method)) return method;
  if (method !== 'Static') return standardPublicIpMustBeStatic(ctx.id);
  const version = readEnum(p, 'publicIPAddressVersion', path, ['IPv4', 'IPv6'], 'IPv4');
  if (isArmError(version)) return version;
  const family: Family = version ?? 'IPv4';
  const idleTimeoutInMinutes = readInteger(p, 'idleTimeoutInMinutes', path, { min: 4, max: 30, default: 4 });
  if (isArmError(idleTimeoutInMinutes)) return idleTimeoutInMinutes;
  if (present(p.publicIPPrefix)) return notModelled('public IP prefixes');
  const zones = readZones(input, '');
  if (isArmError(zones)) return zones;

  const existingProps = objectAt(ctx.existing?.body ?? {}, 'properties');
  if (ctx.existing && existingProps) {
    if (stringAt(existingProps, 'publicIPAddressVersion') !== family) {
      return propertyChangeNotAllowed(ctx.id, 'publicIPAddressVersion');
    }
  }

  const dns = dnsSettings(p, envelope.location, ctx);
  if (isArmError(dns)) return dns;

  let ipAddress = existingProps ? stringAt(existingProps, 'ipAddress') : undefined;
  if (!ipAddress) {
    const allocated = allocate(ctx, family, envelope.location, options.requestedAddress);
    if (isArmError(allocated)) return allocated;
    ipAddress = allocated;
  }

  const properties: JsonObject = {
    ...p,
    publicIPAllocationMethod: 'Static',
    publicIPAddressVersion: family,
    ipAddress,
    idleTimeoutInMinutes: idleTimeoutInMinutes ?? 4,
    ipTags: Array.isArray(p.ipTags) ? p.ipTags : [],
    ddosSettings: isJsonObject(p.ddosSettings)
      ? p.ddosSettings
      : { protectionMode: 'VirtualNetworkInherited' },
  };
  delete properties.provisioningState;
  delete properties.ipConfiguration;
  delete properties.resourceGuid;
  if (dns) properties.dnsSettings = dns;
  else delete properties.dnsSettings;
  const body: JsonObject = {
    location: envelope.location,
    tags: envelope.tags,
    sku: { name: 'Standard', tier: 'Regional' },
    properties,
  };
  if (zones) body.zones = zones;
  return { body, location: envelope.location };
}

function dnsSettings(p: JsonObject, location: string, ctx: WriteContext): JsonObject | undefined | ArmError {
  const settings = p.dnsSettings;
  if (!present(settings)) return undefined;
  if (!isJsonObject(settings)) return invalidProperty('properties.dnsSettings', 'must be an object');
  const label = stringAt(settings, 'domainNameLabel');
  if (label === undefined || label === '') return undefined;
  if (!DNS_LABEL.test(label)) return invalidDomainNameLabel(label);
  const fqdn = `${label}.${normalizeLocation(location)}.cloudapp.azure.com`;
  for (const other of ctx.store.list({ type: 'publicIPAddresses' })) {
    if (sameId(other.id, ctx.id)) continue;
    const otherDns = objectAt(objectAt(other.body, 'properties') ?? {}, 'dnsSettings');
    if (otherDns && stringAt(otherDns, 'fqdn') === fqdn) return dnsRecordInUse(fqdn);
  }
  const out: JsonObject = { domainNameLabel: label, fqdn };
  const reverse = stringAt(settings, 'reverseFqdn');
  if (reverse) out.reverseFqdn = reverse;
  return out;
}

function usedPublicAddresses(store: SimStore): Set<string> {
  const used = new Set<string>();
  for (const record of store.list({ type: 'publicIPAddresses' })) {
    const address = stringAt(objectAt(record.body, 'properties') ?? {}, 'ipAddress');
    if (address) used.add(address);
  }
  return used;
}

function allocate(
  ctx: WriteContext,
  family: Family,
  location: string,
  requested: string | undefined,
): string | ArmError {
  const { limits, store } = ctx;
  const inRegion = store
    .list({ subscriptionId: ctx.subscriptionId, type: 'publicIPAddresses' })
    .filter((r) => normalizeLocation(r.location) === normalizeLocation(location) && !sameId(r.id, ctx.id));
  if (inRegion.length >= limits.publicIpAddressesPerRegion)
    return publicIpCountLimit(limits.publicIpAddressesPerRegion, location);
  const used = usedPublicAddresses(store);
  if (requested !== undefined) {
    const canonical = canonicalIp(requested);
    if (!canonical || parseIp(requested)?.family !== family) {
      return invalidProperty('properties.ipAddress', `must be an ${family} address`);
    }
    if (used.has(canonical))
      return invalidProperty('properties.ipAddress', `${canonical} is already allocated`);
    return canonical;
  }
  const found = nextFree(ctx.publicRanges[family], used, store.publicIpCursor.get(family));
  if (!found) return publicIpCountLimit(inRegion.length, location);
  store.publicIpCursor.set(family, found.value);
  return found.address;
}

/** The public IP as ARM returns it: with the frontend that uses it, and no address until it is provisioned. */
export function renderPublicIp(store: SimStore, record: ResourceRecord): JsonObject {
  const properties: JsonObject = {
    ...(objectAt(record.body, 'properties') ?? {}),
    provisioningState: record.provisioningState,
    resourceGuid: record.resourceGuid,
  };
  if (record.creating) delete properties.ipAddress;
  const user = store.usage().publicIpUsers.get(idKey(record.id));
  if (user) properties.ipConfiguration = { id: user };
  const out: JsonObject = {
    name: record.name,
    id: record.id,
    etag: record.etag,
    type: 'Microsoft.Network/publicIPAddresses',
    location: record.location,
    tags: record.body.tags ?? {},
    sku: record.body.sku ?? { name: 'Standard', tier: 'Regional' },
    properties,
  };
  if (record.body.zones) out.zones = record.body.zones;
  return out;
}
