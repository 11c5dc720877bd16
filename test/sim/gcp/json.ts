// JSON values as the Compute REST API carries them: plain objects, arrays and scalars.

export type Json = { [key: string]: unknown };

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * RFC 7386 JSON merge patch, the processing rule Compute documents for its PATCH methods:
 * objects merge key by key, arrays and scalars replace, null removes.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Json = isRecord(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** A copy without the keys the server owns (the client may echo them back; the server ignores them). */
export function withoutKeys(body: Json, keys: readonly string[]): Json {
  const copy = structuredClone(body);
  for (const key of keys) delete copy[key];
  return copy;
}

/** Stable serialisation (sorted keys) so equal content hashes equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
