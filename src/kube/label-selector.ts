// Kubernetes metav1.LabelSelector: a pure validator and matcher.
//
// Semantics follow metav1.LabelSelectorAsSelector: every matchLabels entry and every matchExpressions
// requirement must hold (AND); an empty selector ({}) matches everything. "No selector" is the caller's
// business — callers that got `selector: undefined` back from validateSelector must treat it as matching
// NOTHING (a typo in a selector must never widen who it matches), and matchesSelector(undefined, …) is false,
// like Kubernetes' nil selector.

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  /** Non-empty for In and NotIn; absent for Exists and DoesNotExist. */
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

// Label name part and value: at most 63 characters, alphanumeric at both ends, '-', '_' and '.' inside.
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
// Optional key prefix: a DNS subdomain (lower case), at most 253 characters.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `selector` matches `labels`. An undefined selector (absent or invalid) matches nothing. */
export function matchesSelector(selector: LabelSelector | undefined, labels: Labels | undefined): boolean {
  if (selector === undefined) return false;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labelOf(have, key) !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    if (!requirementHolds(requirement, have)) return false;
  }
  return true;
}

function requirementHolds(requirement: LabelSelectorRequirement, labels: Labels): boolean {
  const value = labelOf(labels, requirement.key);
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && (requirement.values ?? []).includes(value);
    case 'NotIn':
      // As in Kubernetes: a missing label is "not in" any set.
      return value === undefined || !(requirement.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

// Own properties only: a label called "constructor" must not find Object.prototype.constructor.
function labelOf(labels: Labels, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/**
 * Checks that `value` (from an unvalidated object, e.g. a custom resource) is a well-formed LabelSelector.
 * `field` is the path used in messages, e.g. `spec.serviceAllocation.serviceSelectors[0]`.
 * Returns the selector (a fresh, normalised copy) only when there are no problems: an invalid selector
 * must be treated as matching nothing. Unknown fields are problems too, because ignoring a misspelt
 * `matchLabel` would turn the selector into {} — which matches everything.
 */
export function validateSelector(
  value: unknown,
  field: string,
): { selector?: LabelSelector; problems: string[] } {
  const problems: string[] = [];
  if (!isPlainObject(value)) {
    return { problems: [`${field} must be an object with matchLabels and/or matchExpressions`] };
  }
  for (const name of Object.keys(value)) {
    if (name !== 'matchLabels' && name !== 'matchExpressions') {
      problems.push(`${field} has an unknown field "${name}" (allowed: matchLabels, matchExpressions)`);
    }
  }
  const selector: LabelSelector = {};

  const matchLabels = value.matchLabels;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isPlainObject(matchLabels)) {
      problems.push(`${field}.matchLabels must be a map of label names to values`);
    } else {
      const copy: Record<string, string> = {};
      for (const [key, labelValue] of Object.entries(matchLabels)) {
        const where = `${field}.matchLabels[${JSON.stringify(key)}]`;
        const keyProblem = labelKeyProblem(key);
        if (keyProblem) problems.push(`${where}: ${keyProblem}`);
        if (typeof labelValue !== 'string') {
          problems.push(`${where} must be a string`);
          continue;
        }
        const valueProblem = labelValueProblem(labelValue);
        if (valueProblem) problems.push(`${where}: ${valueProblem}`);
        copy[key] = labelValue;
      }
      selector.matchLabels = copy;
    }
  }

  const matchExpressions = value.matchExpressions;
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) {
      problems.push(`${field}.matchExpressions must be a list`);
    } else {
      const requirements: LabelSelectorRequirement[] = [];
      matchExpressions.forEach((item: unknown, index) => {
        const requirement = validateRequirement(item, `${field}.matchExpressions[${index}]`, problems);
        if (requirement) requirements.push(requirement);
      });
      selector.matchExpressions = requirements;
    }
  }

  return problems.length === 0 ? { selector, problems } : { problems };
}

function validateRequirement(
  value: unknown,
  field: string,
  problems: string[],
): LabelSelectorRequirement | undefined {
  if (!isPlainObject(value)) {
    problems.push(`${field} must be an object with key, operator and values`);
    return undefined;
  }
  const before = problems.length;
  for (const name of Object.keys(value)) {
    if (name !== 'key' && name !== 'operator' && name !== 'values') {
      problems.push(`${field} has an unknown field "${name}" (allowed: key, operator, values)`);
    }
  }
  const { key, operator, values } = value;
  if (typeof key !== 'string') {
    problems.push(`${field}.key must be a string`);
  } else {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) problems.push(`${field}.key: ${keyProblem}`);
  }
  const knownOperator = OPERATORS.find((candidate) => candidate === operator);
  if (knownOperator === undefined) {
    problems.push(
      `${field}.operator must be one of ${OPERATORS.join(', ')} (got ${JSON.stringify(operator) ?? 'nothing'})`,
    );
  }
  let valueList: string[] | undefined;
  if (values !== undefined && values !== null) {
    if (!Array.isArray(values)) {
      problems.push(`${field}.values must be a list of strings`);
    } else {
      valueList = [];
      values.forEach((item: unknown, index) => {
        if (typeof item !== 'string') {
          problems.push(`${field}.values[${index}] must be a string`);
          return;
        }
        const valueProblem = labelValueProblem(item);
        if (valueProblem) problems.push(`${field}.values[${index}]: ${valueProblem}`);
        valueList?.push(item);
      });
    }
  }
  if (knownOperator === 'In' || knownOperator === 'NotIn') {
    if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) {
      problems.push(`${field}.values must not be empty for operator ${knownOperator}`);
    }
  } else if (knownOperator !== undefined && Array.isArray(values) && values.length > 0) {
    problems.push(`${field}.values must be empty for operator ${knownOperator}`);
  }
  if (problems.length > before || typeof key !== 'string' || knownOperator === undefined) return undefined;
  return knownOperator === 'In' || knownOperator === 'NotIn'
    ? { key, operator: knownOperator, values: valueList ?? [] }
    : { key, operator: knownOperator };
}

/** Why `key` is not a valid label key (`[prefix/]name`), or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `label key ${JSON.stringify(key)} has an invalid prefix: it must be a lower-case DNS subdomain of at most 253 characters`;
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `label key ${JSON.stringify(key)} is invalid: the name must be 1-63 characters, alphanumeric at both ends, with '-', '_' or '.' inside`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is (the empty string is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME_PART.test(value)) {
    return `label value ${JSON.stringify(value)} is invalid: it must be at most 63 characters, alphanumeric at both ends, with '-', '_' or '.' inside`;
  }
  return undefined;
}

/**
 * Canonical text of a plain label map (e.g. a Service's spec.selector), the same for equal maps whatever
 * their key order: `key=value` pairs sorted by key, joined by ','. Equal to Kubernetes'
 * labels.Set.String() for valid labels; '\', ',' and '=' are escaped so that arbitrary strings cannot make
 * two different maps read alike. The empty map gives ''.
 */
export function selectorText(map: Labels | undefined): string {
  const entries = Object.entries(map ?? {});
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([key, value]) => `${escapeText(key)}=${escapeText(value)}`).join(',');
}

function escapeText(text: string): string {
  return text.replace(/[\\,=]/g, (character) => `\\${character}`);
}

/** Human-readable form of a selector for messages, in kubectl's syntax: `app=web,tier in (a,b),!legacy`. */
export function describeSelector(selector: LabelSelector): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    parts.push(`${key}=${value}`);
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const values = (requirement.values ?? []).join(',');
    switch (requirement.operator) {
      case 'In':
        parts.push(`${requirement.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${requirement.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(requirement.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${requirement.key}`);
        break;
    }
  }
  return parts.length === 0 ? '(everything)' : parts.join(',');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
