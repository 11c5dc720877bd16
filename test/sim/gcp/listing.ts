// List and aggregatedList responses: filter, order, pages of at most maxResults (Compute's default
// and maximum is 500) with an opaque nextPageToken, and the envelope fields the SDK reads.
import { invalidField, reject } from './errors.ts';
import { type FilterExpression, FilterSyntaxError, matchesFilter, parseFilter } from './filter.ts';
import { isRecord, type Json } from './json.ts';

export interface ListQuery {
  filter?: FilterExpression;
  filterText: string;
  orderBy: 'name' | 'name desc' | 'creationTimestamp desc';
  maxResults: number;
  offset: number;
}

const MAX_RESULTS = 500;

interface PageToken {
  offset: number;
  /** The filter and order the token was issued for: a token is only good for the same query. */
  query: string;
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(text: string): PageToken | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (isRecord(value) && typeof value.offset === 'number' && typeof value.query === 'string') {
      return { offset: value.offset, query: value.query };
    }
  } catch {
    // falls through to undefined: not one of ours
  }
  return undefined;
}

/** Reads filter, orderBy, maxResults and pageToken; rejects what Compute would reject. */
export function readListQuery(params: URLSearchParams): ListQuery {
  const filterText = params.get('filter') ?? '';
  let filter: FilterExpression | undefined;
  try {
    filter = parseFilter(filterText);
  } catch (error) {
    if (error instanceof FilterSyntaxError) {
      reject(invalidField('filter', filterText, `Invalid list filter expression: ${error.message}.`));
    }
    throw error;
  }
  const orderText = (params.get('orderBy') ?? '').trim();
  let orderBy: ListQuery['orderBy'];
  if (orderText === '' || orderText === 'name' || orderText === 'name asc') orderBy = 'name';
  else if (orderText === 'name desc') orderBy = 'name desc';
  else if (orderText === 'creationTimestamp desc') orderBy = 'creationTimestamp desc';
  else {
    reject(
      invalidField('orderBy', orderText, "Sorting is only supported by 'name' and 'creationTimestamp desc'."),
    );
  }
  const maxText = params.get('maxResults');
  let maxResults = MAX_RESULTS;
  if (maxText !== null) {
    const parsed = Number(maxText);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > MAX_RESULTS) {
      reject(invalidField('maxResults', maxText, 'Must be an integer between 0 and 500.'));
    }
    maxResults = parsed === 0 ? MAX_RESULTS : parsed;
  }
  const query = `${filterText}\u0000${orderBy}`;
  const tokenText = params.get('pageToken');
  let offset = 0;
  if (tokenText) {
    const token = decodeToken(tokenText);
    if (!token || token.query !== query || token.offset < 0) {
      reject(invalidField('pageToken', tokenText, 'The page token is not valid for this request.'));
    }
    offset = token.offset;
  }
  return { filter, filterText, orderBy, maxResults, offset };
}

function nameOf(item: Json): string {
  return typeof item.name === 'string' ? item.name : '';
}

function createdOf(item: Json): string {
  return typeof item.creationTimestamp === 'string' ? item.creationTimestamp : '';
}

/** Creation order of equal timestamps follows the numeric id (ids grow with every insert). */
function idOf(item: Json): bigint {
  try {
    return typeof item.id === 'string' ? BigInt(item.id) : 0n;
  } catch {
    return 0n;
  }
}

function sorted<T>(items: readonly T[], body: (item: T) => Json, orderBy: ListQuery['orderBy']): T[] {
  const copy = [...items];
  if (orderBy === 'creationTimestamp desc') {
    copy.sort((a, b) => {
      const byTime = createdOf(body(b)).localeCompare(createdOf(body(a)));
      if (byTime !== 0) return byTime;
      const idA = idOf(body(a));
      const idB = idOf(body(b));
      return idA === idB ? 0 : idA < idB ? 1 : -1;
    });
  } else {
    copy.sort((a, b) => nameOf(body(a)).localeCompare(nameOf(body(b))));
    if (orderBy === 'name desc') copy.reverse();
  }
  return copy;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** Filters, orders and cuts one page. `body` gives the JSON a filter looks at. */
export function pageOf<T>(items: readonly T[], query: ListQuery, body: (item: T) => Json): Page<T> {
  const matching = sorted(
    items.filter((item) => matchesFilter(body(item), query.filter)),
    body,
    query.orderBy,
  );
  const page = matching.slice(query.offset, query.offset + query.maxResults);
  const end = query.offset + page.length;
  if (end >= matching.length) return { items: page };
  return {
    items: page,
    nextPageToken: encodeToken({ offset: end, query: `${query.filterText}\u0000${query.orderBy}` }),
  };
}

export function listResponse(kind: string, id: string, selfLink: string, page: Page<Json>): Json {
  const response: Json = { kind, id, selfLink };
  if (page.items.length > 0) response.items = page.items;
  if (page.nextPageToken) response.nextPageToken = page.nextPageToken;
  return response;
}

export interface Scoped {
  /** "regions/us-central1", "zones/us-central1-a" */
  scope: string;
  body: Json;
}

/**
 * aggregatedList: items keyed by scope, each {<collection>: [...]}, and for a scope with nothing on
 * this page the warning Compute sends instead.
 */
export function aggregatedResponse(
  kind: string,
  id: string,
  selfLink: string,
  collection: string,
  scopes: readonly string[],
  page: Page<Scoped>,
): Json {
  const items: Json = {};
  for (const scope of scopes) {
    const inScope = page.items.filter((item) => item.scope === scope).map((item) => item.body);
    items[scope] =
      inScope.length > 0
        ? { [collection]: inScope }
        : {
            warning: {
              code: 'NO_RESULTS_ON_PAGE',
              message: `There are no results for scope '${scope}' on this page.`,
              data: [{ key: 'scope', value: scope }],
            },
          };
  }
  const response: Json = { kind, id, selfLink, items };
  if (page.nextPageToken) response.nextPageToken = page.nextPageToken;
  return response;
}
