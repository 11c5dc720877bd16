// JSON values as the ARM simulator sees them: request bodies are parsed into these types and checked
// field by field, never trusted as any particular shape.

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses request text; undefined when it is not JSON. */
export function parseJson(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

/** A property ARM treats as absent: missing or null. */
export function present(value: JsonValue | undefined): value is JsonValue {
  return value !== undefined && value !== null;
}

export function objectAt(parent: JsonObject, key: string): JsonObject | undefined {
  const value = parent[key];
  return isJsonObject(value) ? value : undefined;
}

export function arrayAt(parent: JsonObject, key: string): JsonValue[] | undefined {
  const value = parent[key];
  return Array.isArray(value) ? value : undefined;
}

export function stringAt(parent: JsonObject, key: string): string | undefined {
  const value = parent[key];
  return typeof value === 'string' ? value : undefined;
}

/** `{ "id": "..." }` sub-resource reference, or undefined when the property is absent. */
export function referenceIdAt(parent: JsonObject, key: string): string | undefined {
  const ref = objectAt(parent, key);
  return ref ? stringAt(ref, 'id') : undefined;
}

/** Tags: string → string. Non-string values are reported by the caller's validation. */
export function stringMap(value: JsonValue | undefined): Record<string, string> | undefined {
  if (!isJsonObject(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') return undefined;
    out[k] = v;
  }
  return out;
}
