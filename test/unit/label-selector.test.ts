import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeSelector,
  type LabelSelector,
  labelKeyProblem,
  labelValueProblem,
  matchesSelector,
  selectorText,
  validateSelector,
} from '../../src/kube/label-selector.ts';

describe('matchesSelector', () => {
  const labels = { app: 'web', tier: 'front', 'example.com/team': 'blue', empty: '' };
  const cases: {
    name: string;
    selector: LabelSelector | undefined;
    labels?: Record<string, string>;
    want: boolean;
  }[] = [
    { name: 'empty selector matches everything', selector: {}, want: true },
    { name: 'empty selector matches no labels', selector: {}, labels: {}, want: true },
    { name: 'undefined selector matches nothing', selector: undefined, want: false },
    { name: 'matchLabels equal', selector: { matchLabels: { app: 'web' } }, want: true },
    {
      name: 'matchLabels all must hold',
      selector: { matchLabels: { app: 'web', tier: 'back' } },
      want: false,
    },
    { name: 'matchLabels missing label', selector: { matchLabels: { zone: 'a' } }, want: false },
    {
      name: 'matchLabels empty value matches empty label',
      selector: { matchLabels: { empty: '' } },
      want: true,
    },
    {
      name: 'matchLabels empty value needs the label',
      selector: { matchLabels: { other: '' } },
      want: false,
    },
    { name: 'prefixed key', selector: { matchLabels: { 'example.com/team': 'blue' } }, want: true },
    {
      name: 'In matches one of the values',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back', 'front'] }] },
      want: true,
    },
    {
      name: 'In with other values',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] },
      want: false,
    },
    {
      name: 'In on a missing label',
      selector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
      want: false,
    },
    {
      name: 'NotIn with the value',
      selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] },
      want: false,
    },
    {
      name: 'NotIn with other values',
      selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] },
      want: true,
    },
    {
      name: 'NotIn on a missing label matches (Kubernetes semantics)',
      selector: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      want: true,
    },
    { name: 'Exists', selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, want: true },
    {
      name: 'Exists with empty value',
      selector: { matchExpressions: [{ key: 'empty', operator: 'Exists' }] },
      want: true,
    },
    {
      name: 'Exists missing',
      selector: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] },
      want: false,
    },
    {
      name: 'DoesNotExist missing',
      selector: { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] },
      want: true,
    },
    {
      name: 'DoesNotExist present',
      selector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      want: false,
    },
    {
      name: 'matchLabels AND matchExpressions both hold',
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      want: true,
    },
    {
      name: 'matchLabels AND matchExpressions, one fails',
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }],
      },
      want: false,
    },
    {
      name: 'prototype keys are not labels',
      selector: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] },
      want: false,
    },
    {
      name: 'undefined labels are empty',
      selector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      labels: undefined,
      want: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const have = 'labels' in c ? c.labels : labels;
      assert.equal(matchesSelector(c.selector, have), c.want);
    });
  }
});

describe('validateSelector', () => {
  const field = 'spec.x[0]';
  const valid: { name: string; value: unknown; want: LabelSelector }[] = [
    { name: 'empty', value: {}, want: {} },
    {
      name: 'matchLabels',
      value: { matchLabels: { app: 'web', 'k8s.io/x': '' } },
      want: { matchLabels: { app: 'web', 'k8s.io/x': '' } },
    },
    { name: 'null lists are absent', value: { matchLabels: null, matchExpressions: null }, want: {} },
    {
      name: 'all operators',
      value: {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x', 'y'] },
          { key: 'b', operator: 'NotIn', values: ['z'] },
          { key: 'c', operator: 'Exists' },
          { key: 'd', operator: 'DoesNotExist', values: [] },
        ],
      },
      want: {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x', 'y'] },
          { key: 'b', operator: 'NotIn', values: ['z'] },
          { key: 'c', operator: 'Exists' },
          { key: 'd', operator: 'DoesNotExist' },
        ],
      },
    },
  ];
  for (const c of valid) {
    it(`accepts ${c.name}`, () => {
      const got = validateSelector(c.value, field);
      assert.deepEqual(got.problems, []);
      assert.deepEqual(got.selector, c.want);
    });
  }

  const invalid: { name: string; value: unknown; problems: string[] }[] = [
    {
      name: 'not an object',
      value: 'app=web',
      problems: ['spec.x[0] must be an object with matchLabels and/or matchExpressions'],
    },
    {
      name: 'null',
      value: null,
      problems: ['spec.x[0] must be an object with matchLabels and/or matchExpressions'],
    },
    {
      name: 'a list',
      value: [],
      problems: ['spec.x[0] must be an object with matchLabels and/or matchExpressions'],
    },
    {
      name: 'misspelt field (would otherwise match everything)',
      value: { matchLabel: { app: 'web' } },
      problems: ['spec.x[0] has an unknown field "matchLabel" (allowed: matchLabels, matchExpressions)'],
    },
    {
      name: 'matchLabels a list',
      value: { matchLabels: ['app'] },
      problems: ['spec.x[0].matchLabels must be a map of label names to values'],
    },
    {
      name: 'matchLabels non-string value',
      value: { matchLabels: { app: 1 } },
      problems: ['spec.x[0].matchLabels["app"] must be a string'],
    },
    {
      name: 'matchLabels bad value',
      value: { matchLabels: { app: 'a b' } },
      problems: [
        `spec.x[0].matchLabels["app"]: label value "a b" is invalid: it must be at most 63 characters, alphanumeric at both ends, with '-', '_' or '.' inside`,
      ],
    },
    {
      name: 'matchLabels bad key',
      value: { matchLabels: { '-app': 'x' } },
      problems: [
        `spec.x[0].matchLabels["-app"]: label key "-app" is invalid: the name must be 1-63 characters, alphanumeric at both ends, with '-', '_' or '.' inside`,
      ],
    },
    {
      name: 'matchExpressions not a list',
      value: { matchExpressions: {} },
      problems: ['spec.x[0].matchExpressions must be a list'],
    },
    {
      name: 'requirement not an object',
      value: { matchExpressions: ['app in (a)'] },
      problems: ['spec.x[0].matchExpressions[0] must be an object with key, operator and values'],
    },
    {
      name: 'bad operator (case matters)',
      value: { matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] },
      problems: [
        'spec.x[0].matchExpressions[0].operator must be one of In, NotIn, Exists, DoesNotExist (got "in")',
      ],
    },
    {
      name: 'missing operator',
      value: { matchExpressions: [{ key: 'a' }] },
      problems: [
        'spec.x[0].matchExpressions[0].operator must be one of In, NotIn, Exists, DoesNotExist (got nothing)',
      ],
    },
    {
      name: 'In without values',
      value: { matchExpressions: [{ key: 'a', operator: 'In' }] },
      problems: ['spec.x[0].matchExpressions[0].values must not be empty for operator In'],
    },
    {
      name: 'NotIn with empty values',
      value: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] },
      problems: ['spec.x[0].matchExpressions[0].values must not be empty for operator NotIn'],
    },
    {
      name: 'Exists with values',
      value: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      problems: ['spec.x[0].matchExpressions[0].values must be empty for operator Exists'],
    },
    {
      name: 'missing key',
      value: { matchExpressions: [{ operator: 'Exists' }] },
      problems: ['spec.x[0].matchExpressions[0].key must be a string'],
    },
    {
      name: 'values not a list',
      value: { matchExpressions: [{ key: 'a', operator: 'In', values: 'x' }] },
      problems: ['spec.x[0].matchExpressions[0].values must be a list of strings'],
    },
    {
      name: 'non-string value',
      value: { matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 2] }] },
      problems: ['spec.x[0].matchExpressions[0].values[1] must be a string'],
    },
    {
      name: 'unknown requirement field',
      value: { matchExpressions: [{ key: 'a', operator: 'Exists', value: 'x' }] },
      problems: [
        'spec.x[0].matchExpressions[0] has an unknown field "value" (allowed: key, operator, values)',
      ],
    },
    {
      name: 'one bad requirement among good ones',
      value: {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'a', operator: 'Exists' },
          { key: 'b', operator: 'Gt' },
        ],
      },
      problems: [
        'spec.x[0].matchExpressions[1].operator must be one of In, NotIn, Exists, DoesNotExist (got "Gt")',
      ],
    },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}, returning no selector`, () => {
      const got = validateSelector(c.value, field);
      assert.deepEqual(got.problems, c.problems);
      assert.equal(got.selector, undefined);
      // Whatever the caller does with the result, an invalid selector matches nothing.
      assert.equal(matchesSelector(got.selector, { app: 'web', a: 'x', b: 'y' }), false);
    });
  }

  it('returns a copy, not the input', () => {
    const input = { matchLabels: { app: 'web' } };
    const got = validateSelector(input, field);
    input.matchLabels.app = 'db';
    assert.deepEqual(got.selector, { matchLabels: { app: 'web' } });
  });
});

describe('label keys and values', () => {
  const keys: { key: string; ok: boolean }[] = [
    { key: 'app', ok: true },
    { key: 'app.kubernetes.io/name', ok: true },
    { key: 'a_b-c.d', ok: true },
    { key: 'x'.repeat(63), ok: true },
    { key: 'x'.repeat(64), ok: false },
    { key: `${'a'.repeat(253)}/n`, ok: true },
    { key: `${'a'.repeat(254)}/n`, ok: false },
    { key: '', ok: false },
    { key: '/app', ok: false },
    { key: 'example.com/', ok: false },
    { key: 'Example.com/app', ok: false },
    { key: 'a/b/c', ok: false },
    { key: 'app_', ok: false },
  ];
  for (const c of keys) {
    it(`key ${JSON.stringify(c.key.length > 20 ? `${c.key.slice(0, 8)}…(${c.key.length})` : c.key)} ${c.ok ? 'valid' : 'invalid'}`, () => {
      assert.equal(labelKeyProblem(c.key) === undefined, c.ok);
    });
  }
  const values: { value: string; ok: boolean }[] = [
    { value: '', ok: true },
    { value: 'v1.2_3-x', ok: true },
    { value: 'x'.repeat(63), ok: true },
    { value: 'x'.repeat(64), ok: false },
    { value: '.x', ok: false },
    { value: 'a/b', ok: false },
  ];
  for (const c of values) {
    it(`value ${JSON.stringify(c.value.length > 20 ? `(${c.value.length} chars)` : c.value)} ${c.ok ? 'valid' : 'invalid'}`, () => {
      assert.equal(labelValueProblem(c.value) === undefined, c.ok);
    });
  }
});

describe('selectorText', () => {
  it('is independent of key order', () => {
    assert.equal(selectorText({ tier: 'front', app: 'web' }), 'app=web,tier=front');
    assert.equal(selectorText({ app: 'web', tier: 'front' }), 'app=web,tier=front');
  });
  it('is empty for an empty or absent map', () => {
    assert.equal(selectorText({}), '');
    assert.equal(selectorText(undefined), '');
  });
  it('tells different maps apart', () => {
    assert.notEqual(selectorText({ app: 'web' }), selectorText({ app: 'db' }));
    assert.notEqual(selectorText({ app: 'web' }), selectorText({ app: 'web', tier: 'x' }));
  });
  it('escapes separators so crafted strings cannot collide', () => {
    assert.notEqual(selectorText({ a: 'b,c=d' }), selectorText({ a: 'b', c: 'd' }));
    assert.equal(selectorText({ a: 'b,c=d' }), 'a=b\\,c\\=d');
    assert.notEqual(selectorText({ 'a\\': 'b' }), selectorText({ a: '\\b' }));
  });
});

describe('describeSelector', () => {
  it('uses kubectl syntax', () => {
    assert.equal(
      describeSelector({
        matchLabels: { tier: 'front', app: 'web' },
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a', 'b'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
      'app=web,tier=front,zone in (a,b),env notin (dev),team,!legacy',
    );
  });
  it('names the empty selector', () => {
    assert.equal(describeSelector({}), '(everything)');
  });
});
