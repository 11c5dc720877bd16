// Field readers for request bodies. Each stops at the first problem with the error Compute gives
// ("Invalid value for field 'resource.x': ...", "Required field ... not specified").
import { invalidField, reject, requiredField } from './errors.ts';
import type { Json } from './json.ts';
import { type Collection, parseReference, type ResourceRef } from './links.ts';

/** RFC 1035 label, at most 63 characters: the rule for every Compute resource name. */
export const NAME_PATTERN = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

export function checkName(value: unknown, field: string): string {
  if (value === undefined || value === null || value === '') reject(requiredField(field));
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    reject(invalidField(field, value, `Must be a match of regex '${NAME_PATTERN.source}'`));
  }
  return value;
}

export function optionalString(body: Json, key: string, field: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') reject(invalidField(field, value, 'Must be a string.'));
  return value;
}

export function optionalBoolean(body: Json, key: string, field: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') reject(invalidField(field, value, 'Must be a boolean.'));
  return value;
}

/** int32 fields arrive as JSON numbers; int64 ones as strings. Both are read as integers here. */
export function optionalInteger(
  body: Json,
  key: string,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    reject(invalidField(field, value, `Must be an integer between ${min} and ${max}.`));
  }
  return number;
}

export function optionalEnum<T extends string>(
  body: Json,
  key: string,
  field: string,
  allowed: readonly T[],
  why?: string,
): T | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    reject(invalidField(field, value, why ?? `Must be one of ${allowed.join(', ')}.`));
  }
  return value as T;
}

export function optionalStringArray(body: Json, key: string, field: string): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) reject(invalidField(field, value, 'Must be a list of strings.'));
  return value.map((element, index) => {
    if (typeof element !== 'string') reject(invalidField(`${field}[${index}]`, element, 'Must be a string.'));
    return element;
  });
}

export function optionalObjectArray(body: Json, key: string, field: string): Json[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) reject(invalidField(field, value, 'Must be a list.'));
  return value.map((element, index) => {
    if (typeof element !== 'object' || element === null || Array.isArray(element)) {
      reject(invalidField(`${field}[${index}]`, element, 'Must be an object.'));
    }
    return element as Json;
  });
}

export function optionalObject(body: Json, key: string, field: string): Json | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    reject(invalidField(field, value, 'Must be an object.'));
  return value as Json;
}

export function checkPort(value: unknown, field: string): number {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
    reject(invalidField(field, value, 'Must be a port number between 1 and 65535.'));
  }
  return number;
}

/** Labels: lowercase keys starting with a letter, at most 64 pairs, keys and values at most 63 characters. */
export function checkLabels(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) reject(invalidField(field, value, 'Must be a map.'));
  const entries = Object.entries(value as Json);
  if (entries.length > 64) reject(invalidField(field, '...', 'At most 64 labels are allowed.'));
  const labels: Record<string, string> = {};
  for (const [key, labelValue] of entries) {
    if (!LABEL_KEY.test(key)) {
      reject(
        invalidField(
          `${field}.${key}`,
          key,
          'Label keys must start with a lowercase letter and hold only lowercase letters, digits, _ and -.',
        ),
      );
    }
    if (typeof labelValue !== 'string' || !LABEL_VALUE.test(labelValue)) {
      reject(
        invalidField(
          `${field}.${key}`,
          labelValue,
          'Label values hold only lowercase letters, digits, _ and - (at most 63).',
        ),
      );
    }
    labels[key] = labelValue;
  }
  return labels;
}

/**
 * A reference field: a full or partial URL of a resource of `collection`. Compute rejects
 * anything else as a malformed URL.
 */
export function checkReference(
  value: unknown,
  field: string,
  project: string,
  collection: Collection,
): ResourceRef {
  if (typeof value !== 'string' || value === '') reject(requiredField(field));
  const ref = parseReference(value, project);
  if (!ref || ref.collection !== collection) reject(invalidField(field, value, 'The URL is malformed.'));
  return ref;
}
