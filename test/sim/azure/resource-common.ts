// What every PUT body shares (location, tags, child collections with names) and the context a resource
// module validates a write against. Pure apart from reading the store.

import type { AddressRange } from './addresses.ts';
import {
  type ArmError,
  duplicateChildName,
  invalidProperty,
  invalidResourceLocation,
  invalidResourceName,
  locationRequired,
  missingReferenceId,
} from './arm-errors.ts';
import { type ChildType, childResourceId, isValidResourceName, normalizeLocation } from './arm-ids.ts';
import {
  arrayAt,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  objectAt,
  present,
  stringAt,
  stringMap,
} from './json.ts';
import type { Limits } from './settings.ts';
import type { ResourceRecord, SimStore } from './store.ts';

export interface WriteContext {
  store: SimStore;
  limits: Limits;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Canonical ID of the resource being written. */
  id: string;
  existing: ResourceRecord | undefined;
  publicRanges: Record<'IPv4' | 'IPv6', AddressRange[]>;
}

export interface PreparedWrite {
  body: JsonObject;
  location: string;
  /** A problem ARM reports through the async operation (status Failed) rather than the PUT response. */
  deferredError?: ArmError;
}

export interface Envelope {
  location: string;
  tags: Record<string, string>;
  properties: JsonObject;
}

/** location (required, and fixed once created), tags (string map), properties (object). */
export function readEnvelope(input: JsonObject, ctx: WriteContext): Envelope | ArmError {
  const location = stringAt(input, 'location');
  if (!location || location.trim() === '') return locationRequired();
  if (ctx.existing && normalizeLocation(ctx.existing.location) !== normalizeLocation(location)) {
    return invalidResourceLocation(ctx.name, ctx.existing.location, location, ctx.resourceGroup);
  }
  let tags: Record<string, string> = {};
  if (present(input.tags)) {
    const parsed = stringMap(input.tags);
    if (!parsed) return invalidProperty('tags', 'must be an object of string values');
    tags = parsed;
  }
  let properties: JsonObject = {};
  if (present(input.properties)) {
    if (!isJsonObject(input.properties)) return invalidProperty('properties', 'must be an object');
    properties = input.properties;
  }
  return { location, tags, properties };
}

export interface NamedChild {
  name: string;
  id: string;
  properties: JsonObject;
  source: JsonObject;
}

/**
 * A child collection (`properties.<key>`): each element an object with a valid, unique name. IDs are the
 * canonical ones under `parentId`, whatever the caller wrote.
 */
export function readChildren(
  properties: JsonObject,
  key: string,
  parentId: string,
  childType: ChildType,
  path: string,
): NamedChild[] | ArmError {
  const raw = properties[key];
  if (!present(raw)) return [];
  if (!Array.isArray(raw)) return invalidProperty(`${path}.${key}`, 'must be an array');
  const out: NamedChild[] = [];
  const seen = new Set<string>();
  for (const [index, element] of raw.entries()) {
    if (!isJsonObject(element)) return invalidProperty(`${path}.${key}[${index}]`, 'must be an object');
    const name = stringAt(element, 'name');
    if (name === undefined) return invalidProperty(`${path}.${key}[${index}].name`, 'is required');
    if (!isValidResourceName(name)) return invalidResourceName(name);
    if (seen.has(name.toLowerCase())) return duplicateChildName(parentId, key, name);
    seen.add(name.toLowerCase());
    const childProps = element.properties;
    if (present(childProps) && !isJsonObject(childProps)) {
      return invalidProperty(`${path}.${key}[${index}].properties`, 'must be an object');
    }
    out.push({
      name,
      id: childResourceId(parentId, childType, name),
      properties: isJsonObject(childProps) ? childProps : {},
      source: element,
    });
  }
  return out;
}

/**
 * `{ "id": ... }` at `key`: undefined when absent, the ID when present, an error when the object has no id
 * (ARM's MissingJsonReferenceId).
 */
export function readReference(parent: JsonObject, key: string, path: string): string | undefined | ArmError {
  const value: JsonValue | undefined = parent[key];
  if (!present(value)) return undefined;
  if (!isJsonObject(value)) return invalidProperty(`${path}.${key}`, 'must be an object with an id');
  const id = stringAt(value, 'id');
  if (id === undefined || id === '') return missingReferenceId(`${path}.${key}`);
  return id;
}

/** An integer property within [min, max], or its default when absent. */
export function readInteger(
  parent: JsonObject,
  key: string,
  path: string,
  range: { min: number; max: number; default?: number },
): number | undefined | ArmError {
  const value = parent[key];
  if (!present(value)) return range.default;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    return invalidProperty(`${path}.${key}`, `must be a whole number from ${range.min} to ${range.max}`);
  }
  return value;
}

/** One of `allowed` (matched case-insensitively, returned in canonical casing), or its default when absent. */
export function readEnum<T extends string>(
  parent: JsonObject,
  key: string,
  path: string,
  allowed: readonly T[],
  fallback?: T,
): T | undefined | ArmError {
  const value = parent[key];
  if (!present(value)) return fallback;
  const match =
    typeof value === 'string' ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
  if (!match) return invalidProperty(`${path}.${key}`, `must be one of ${allowed.join(', ')}`);
  return match;
}

export function readBoolean(
  parent: JsonObject,
  key: string,
  path: string,
  fallback: boolean,
): boolean | ArmError {
  const value = parent[key];
  if (!present(value)) return fallback;
  if (typeof value !== 'boolean') return invalidProperty(`${path}.${key}`, 'must be true or false');
  return value;
}

/** `zones`: an array of strings, kept as given. */
export function readZones(source: JsonObject, path: string): string[] | undefined | ArmError {
  const zones = source.zones;
  if (!present(zones)) return undefined;
  if (!Array.isArray(zones) || !zones.every((z) => typeof z === 'string')) {
    return invalidProperty(`${path}.zones`, 'must be an array of strings');
  }
  return zones as string[];
}

export function skuName(input: JsonObject): string | undefined {
  const sku = objectAt(input, 'sku');
  return sku ? stringAt(sku, 'name') : undefined;
}

export function skuTier(input: JsonObject): string | undefined {
  const sku = objectAt(input, 'sku');
  return sku ? stringAt(sku, 'tier') : undefined;
}

/**
 * The PUT body a child PUT or DELETE amounts to: the parent's stored body with the named child of `collection`
 * replaced (or added at the end), or removed when `child` is undefined.
 */
export function withChild(
  parent: ResourceRecord,
  collection: string,
  name: string,
  child: JsonObject | undefined,
): JsonObject {
  const body = structuredClone(parent.body);
  const properties = objectAt(body, 'properties') ?? {};
  const list = [...(arrayAt(properties, collection) ?? [])];
  const index = list.findIndex(
    (c) => isJsonObject(c) && stringAt(c, 'name')?.toLowerCase() === name.toLowerCase(),
  );
  if (index >= 0 && child) list[index] = child;
  else if (index >= 0) list.splice(index, 1);
  else if (child) list.push(child);
  body.properties = { ...properties, [collection]: list };
  return body;
}

/** The stored child of `collection` with this name (case-insensitive), if any. */
export function storedChild(
  parent: ResourceRecord,
  collection: string,
  name: string,
): JsonObject | undefined {
  const list = arrayAt(objectAt(parent.body, 'properties') ?? {}, collection) ?? [];
  return list.filter(isJsonObject).find((c) => stringAt(c, 'name')?.toLowerCase() === name.toLowerCase());
}
