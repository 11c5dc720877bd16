// Typed reads of fields from untyped manifests. Each reader returns undefined for an absent (or null) field, and
// for a field of the wrong shape it records a problem naming the field's path and returns undefined too, so a
// converter can report every problem of an object at once.
import type { LabelSelector, LabelSelectorRequirement } from './manifest-types.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `fields` without its undefined entries, so a field absent from the input stays absent from the output. */
export function presentFields<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function readBoolean(value: unknown, path: string, problems: string[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  problems.push(`${path} must be true or false, not ${describe(value)}`);
  return undefined;
}

export function readInteger(value: unknown, path: string, problems: string[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  problems.push(`${path} must be an integer, not ${describe(value)}`);
  return undefined;
}

export function readString(value: unknown, path: string, problems: string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  problems.push(`${path} must be a string, not ${describe(value)}`);
  return undefined;
}

export function readStringList(value: unknown, path: string, problems: string[]): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    problems.push(`${path} must be a list of strings, not ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  const list = value.map((item, i) => readString(item, `${path}[${i}]`, problems) ?? '');
  return problems.length === before ? list : undefined;
}

export function readStringMap(
  value: unknown,
  path: string,
  problems: string[],
): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    problems.push(`${path} must be a map of strings, not ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  const map: Record<string, string> = {};
  for (const [key, item] of Object.entries(value))
    map[key] = readString(item, `${path}.${key}`, problems) ?? '';
  return problems.length === before ? map : undefined;
}

const OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

function readRequirement(
  value: unknown,
  path: string,
  problems: string[],
): LabelSelectorRequirement | undefined {
  if (!isRecord(value)) {
    problems.push(`${path} must be a map with key, operator and values, not ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  for (const field of Object.keys(value)) {
    if (!['key', 'operator', 'values'].includes(field))
      problems.push(`${path}.${field} is not a known field`);
  }
  const key = readString(value.key, `${path}.key`, problems);
  if (value.key === undefined || value.key === null) problems.push(`${path}.key is missing`);
  const operator = readString(value.operator, `${path}.operator`, problems);
  if (value.operator === undefined || value.operator === null) problems.push(`${path}.operator is missing`);
  else if (operator !== undefined && !OPERATORS.has(operator)) {
    problems.push(
      `${path}.operator ${JSON.stringify(operator)} is not one of In, NotIn, Exists, DoesNotExist`,
    );
  }
  const beforeValues = problems.length;
  const values = readStringList(value.values, `${path}.values`, problems) ?? [];
  if (problems.length === beforeValues && operator !== undefined) {
    const needsValues = operator === 'In' || operator === 'NotIn';
    if (needsValues && values.length === 0) problems.push(`${path}.values must not be empty for ${operator}`);
    if (!needsValues && values.length > 0) problems.push(`${path}.values must be empty for ${operator}`);
  }
  if (problems.length > before || key === undefined) return undefined;
  return {
    key,
    operator: operator as LabelSelectorRequirement['operator'],
    ...(values.length > 0 ? { values } : {}),
  };
}

/**
 * A metav1.LabelSelector, checked for shape. A selector that cannot be read is a problem, never dropped: dropping
 * a selector would widen what it selects.
 */
function readSelector(value: unknown, path: string, problems: string[]): LabelSelector | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    problems.push(`${path} must be a label selector (matchLabels, matchExpressions), not ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  for (const field of Object.keys(value)) {
    if (field !== 'matchLabels' && field !== 'matchExpressions') {
      problems.push(`${path}.${field} is not a field of a label selector (matchLabels, matchExpressions)`);
    }
  }
  const matchLabels = readStringMap(value.matchLabels, `${path}.matchLabels`, problems);
  let matchExpressions: LabelSelectorRequirement[] | undefined;
  if (value.matchExpressions !== undefined && value.matchExpressions !== null) {
    if (Array.isArray(value.matchExpressions)) {
      matchExpressions = value.matchExpressions.flatMap((item, i) => {
        const requirement = readRequirement(item, `${path}.matchExpressions[${i}]`, problems);
        return requirement ? [requirement] : [];
      });
    } else {
      problems.push(`${path}.matchExpressions must be a list, not ${describe(value.matchExpressions)}`);
    }
  }
  if (problems.length > before) return undefined;
  return presentFields({ matchLabels, matchExpressions });
}

export function readSelectorList(
  value: unknown,
  path: string,
  problems: string[],
): LabelSelector[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    problems.push(`${path} must be a list of label selectors, not ${describe(value)}`);
    return undefined;
  }
  const before = problems.length;
  const list = value.map((item, i) => {
    const selector = readSelector(item, `${path}[${i}]`, problems);
    if (selector === undefined && (item === undefined || item === null)) {
      problems.push(`${path}[${i}] must be a label selector, not null`);
    }
    return selector ?? {};
  });
  return problems.length === before ? list : undefined;
}
