// The simulator's pure parts: list filters, page tokens, resource URLs, merge patch, IP allocation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rejection } from '../sim/gcp/errors.ts';
import { FilterSyntaxError, matchesFilter, parseFilter } from '../sim/gcp/filter.ts';
import { firstFree, parseIpv4Cidr } from '../sim/gcp/ip.ts';
import { mergePatch } from '../sim/gcp/json.ts';
import { parseReference, resourcePath } from '../sim/gcp/links.ts';
import { pageOf, readListQuery } from '../sim/gcp/listing.ts';

const rule = {
  name: 'k8s-fr-web',
  IPProtocol: 'TCP',
  ports: ['80', '443'],
  allPorts: false,
  labels: { owner: 'sluice', cluster: 'c1' },
  httpHealthCheck: { port: 10256 },
};

function matches(filter: string, resource: unknown = rule): boolean {
  return matchesFilter(resource, parseFilter(filter));
}

describe('list filters', () => {
  const table: Array<[string, boolean]> = [
    ['name = "k8s-fr-web"', true],
    ['name = k8s-fr-web', true],
    ['name="k8s-fr-web"', true],
    ["name = 'k8s-fr-web'", true],
    ['name = "k8s-fr"', false],
    ['name = "k8s-*"', true],
    ['name != "k8s-fr-web"', false],
    ['name : "fr"', true],
    ['labels.owner = sluice', true],
    ['labels.owner = other', false],
    ['labels.owner:*', true],
    ['labels.team:*', false],
    ['labels.team != x', true],
    ['ports = 443', true],
    ['ports = 8080', false],
    ['allPorts = false', true],
    ['httpHealthCheck.port = 10256', true],
    ['httpHealthCheck.port > 10000', true],
    ['httpHealthCheck.port <= 80', false],
    ['(labels.owner = sluice) (labels.cluster = c1)', true],
    ['(labels.owner = sluice) AND (labels.cluster = c2)', false],
    ['(labels.cluster = c2) OR (name = k8s-fr-web)', true],
    ['NOT (labels.cluster = c2)', true],
    ['labels.owner = sluice AND NOT labels.cluster = c1', false],
    ["name eq 'k8s-.*'", true],
    ["name eq 'fr-.*'", false /* a regex must match the whole value */],
    ['name ne k8s-.*', false],
    ['name eq "k8s-fr-(web|api)"', true],
  ];
  for (const [filter, expected] of table) {
    it(`${filter} → ${expected}`, () => assert.equal(matches(filter), expected));
  }

  it('an empty filter matches everything', () => {
    assert.equal(parseFilter('   '), undefined);
    assert.equal(matchesFilter(rule, undefined), true);
  });

  for (const bad of ['name =', 'name', '(name = a', 'name = "open', 'name eq "(("', '= x', 'name ! x']) {
    it(`'${bad}' is a syntax error`, () => assert.throws(() => parseFilter(bad), FilterSyntaxError));
  }
});

describe('list pages', () => {
  const items = ['e', 'a', 'd', 'c', 'b'].map((name, index) => ({ name, id: String(100 + index) }));

  it('pages follow tokens until the end, in name order', () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const params = new URLSearchParams({ maxResults: '2', ...(token ? { pageToken: token } : {}) });
      const page = pageOf(items, readListQuery(params), (item) => item);
      seen.push(...page.items.map((item) => item.name));
      token = page.nextPageToken;
      pages += 1;
    } while (token);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pages, 3);
  });

  it('a token is good only for the query it came from', () => {
    const first = pageOf(items, readListQuery(new URLSearchParams({ maxResults: '2' })), (item) => item);
    assert.ok(first.nextPageToken);
    assert.throws(
      () =>
        readListQuery(
          new URLSearchParams({ maxResults: '2', filter: 'name = a', pageToken: first.nextPageToken ?? '' }),
        ),
      (error: unknown) => error instanceof Rejection && /pageToken/.test(error.message),
    );
    assert.throws(() => readListQuery(new URLSearchParams({ pageToken: 'garbage' })), Rejection);
  });

  it('maxResults beyond 500 and unsupported orderBy are refused', () => {
    assert.throws(() => readListQuery(new URLSearchParams({ maxResults: '501' })), /maxResults/);
    assert.throws(
      () => readListQuery(new URLSearchParams({ orderBy: 'description' })),
      /Sorting is only supported/,
    );
  });
});

describe('resource URLs', () => {
  it('full, project-relative and partial URLs name the same resource', () => {
    const full = parseReference(
      'https://www.googleapis.com/compute/v1/projects/p1/regions/us-central1/backendServices/bs',
      'other',
    );
    const relative = parseReference('projects/p1/regions/us-central1/backendServices/bs', 'other');
    const partial = parseReference('regions/us-central1/backendServices/bs', 'p1');
    assert.deepEqual(full, relative);
    assert.deepEqual(partial, relative);
    assert.equal(
      resourcePath(
        full ?? relative ?? { project: '', scope: { kind: 'global' }, collection: 'networks', name: '' },
      ),
      'projects/p1/regions/us-central1/backendServices/bs',
    );
    assert.deepEqual(
      parseReference('https://compute.googleapis.com/compute/beta/projects/p/global/networks/default', 'x'),
      {
        project: 'p',
        scope: { kind: 'global' },
        collection: 'networks',
        name: 'default',
      },
    );
  });

  it('names, unknown collections and other hosts paths are not resource URLs', () => {
    for (const text of [
      'default',
      'global/widgets/x',
      'regions/r/backendServices',
      'https://example.com/x/y',
      'zones//instances/a',
    ]) {
      assert.equal(parseReference(text, 'p'), undefined, text);
    }
  });
});

describe('merge patch and IP allocation', () => {
  it('PATCH semantics: objects merge, arrays replace, null removes', () => {
    assert.deepEqual(
      mergePatch({ a: { b: 1, c: 2 }, list: [1, 2], gone: true }, { a: { c: 3 }, list: [9], gone: null }),
      { a: { b: 1, c: 3 }, list: [9] },
    );
  });

  it('a subnet keeps its first two and last two addresses', () => {
    const range = parseIpv4Cidr('10.0.0.0/29');
    assert.ok(range);
    assert.equal(firstFree(range, new Set(), 2, 2), '10.0.0.2');
    assert.equal(firstFree(range, new Set(['10.0.0.2', '10.0.0.3', '10.0.0.4']), 2, 2), '10.0.0.5');
    assert.equal(
      firstFree(range, new Set(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']), 2, 2),
      undefined,
    );
    assert.equal(parseIpv4Cidr('10.0.0.1/24'), undefined, 'not a network address');
  });
});
