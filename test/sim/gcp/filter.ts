// The `filter` parameter of Compute list calls, both syntaxes Compute accepts:
//   new:    name = "fr-1"   labels.owner = sluice   labels.owner:*   name != x   description:"substring"
//           (a = "x") AND (b = "y")   (a = "x") OR (b = "y")   NOT (a = "x")   adjacent terms are ANDed
//   legacy: name eq 'k8s-.*'   name ne 'k8s-.*'   (RE2 regular expression matching the whole value)
// A field is a dotted path (labels.owner, httpHealthCheck.port); a repeated field matches when any
// element does. `=` supports `*` wildcards in string values.
import { isRecord } from './json.ts';

export type FilterExpression =
  | { kind: 'and' | 'or'; left: FilterExpression; right: FilterExpression }
  | { kind: 'not'; inner: FilterExpression }
  | { kind: 'compare'; field: string; operator: Operator; value: string };

type Operator = '=' | '!=' | ':' | '<' | '>' | '<=' | '>=' | 'eq' | 'ne';

type Token =
  | { kind: 'open' | 'close' }
  | { kind: 'operator'; text: Operator }
  | { kind: 'word'; text: string }
  | { kind: 'quoted'; text: string };

export class FilterSyntaxError extends Error {}

const OPERATOR_CHARS = new Set(['=', '!', ':', '<', '>']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i] ?? '';
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: char === '(' ? 'open' : 'close' });
      i += 1;
    } else if (char === '"' || char === "'") {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== char; j += 1) {
        if (text[j] === '\\' && j + 1 < text.length) j += 1;
        value += text[j];
      }
      if (j >= text.length) throw new FilterSyntaxError(`unterminated quoted value starting at ${i}`);
      tokens.push({ kind: 'quoted', text: value });
      i = j + 1;
    } else if (OPERATOR_CHARS.has(char)) {
      const two = text.slice(i, i + 2);
      if (two === '!=' || two === '<=' || two === '>=') {
        tokens.push({ kind: 'operator', text: two });
        i += 2;
      } else if (char === '!') {
        throw new FilterSyntaxError(`unexpected '!' at ${i}`);
      } else {
        tokens.push({ kind: 'operator', text: char as Operator });
        i += 1;
      }
    } else {
      let j = i;
      while (j < text.length) {
        const c = text[j] ?? '';
        if (/\s/.test(c) || c === '(' || c === ')' || OPERATOR_CHARS.has(c)) break;
        j += 1;
      }
      tokens.push({ kind: 'word', text: text.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

class Parser {
  private position = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): FilterExpression {
    const expression = this.or();
    if (this.position < this.tokens.length)
      throw new FilterSyntaxError('unexpected text after the expression');
    return expression;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private isKeyword(token: Token | undefined, keyword: string): boolean {
    return token?.kind === 'word' && token.text === keyword;
  }

  private or(): FilterExpression {
    let left = this.and();
    while (this.isKeyword(this.peek(), 'OR')) {
      this.position += 1;
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterExpression {
    let left = this.unary();
    for (;;) {
      const next = this.peek();
      if (!next || next.kind === 'close' || this.isKeyword(next, 'OR')) return left;
      if (this.isKeyword(next, 'AND')) this.position += 1;
      left = { kind: 'and', left, right: this.unary() };
    }
  }

  private unary(): FilterExpression {
    if (this.isKeyword(this.peek(), 'NOT')) {
      this.position += 1;
      return { kind: 'not', inner: this.unary() };
    }
    return this.primary();
  }

  private primary(): FilterExpression {
    const token = this.peek();
    if (!token) throw new FilterSyntaxError('expression expected');
    if (token.kind === 'open') {
      this.position += 1;
      const inner = this.or();
      if (this.peek()?.kind !== 'close') throw new FilterSyntaxError("')' expected");
      this.position += 1;
      return inner;
    }
    if (token.kind !== 'word') throw new FilterSyntaxError('field name expected');
    this.position += 1;
    const operatorToken = this.peek();
    let operator: Operator;
    if (operatorToken?.kind === 'operator') operator = operatorToken.text;
    else if (operatorToken?.kind === 'word' && (operatorToken.text === 'eq' || operatorToken.text === 'ne')) {
      operator = operatorToken.text;
    } else throw new FilterSyntaxError(`comparison operator expected after '${token.text}'`);
    this.position += 1;
    const valueToken = this.peek();
    if (valueToken?.kind !== 'word' && valueToken?.kind !== 'quoted') {
      throw new FilterSyntaxError(`value expected after '${token.text} ${operator}'`);
    }
    this.position += 1;
    return { kind: 'compare', field: token.text, operator, value: valueToken.text };
  }
}

/** Throws FilterSyntaxError on text that is not a filter. */
export function parseFilter(text: string): FilterExpression | undefined {
  if (text.trim() === '') return undefined;
  const expression = new Parser(tokenize(text)).parse();
  checkRegexes(expression);
  return expression;
}

function checkRegexes(expression: FilterExpression): void {
  if (expression.kind === 'compare') {
    if (expression.operator === 'eq' || expression.operator === 'ne') {
      try {
        new RegExp(expression.value);
      } catch {
        throw new FilterSyntaxError(`'${expression.value}' is not a regular expression`);
      }
    }
  } else if (expression.kind === 'not') checkRegexes(expression.inner);
  else {
    checkRegexes(expression.left);
    checkRegexes(expression.right);
  }
}

/** Leaf values at a dotted path; arrays fan out. */
function valuesAt(resource: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(resource)) return resource.flatMap((element) => valuesAt(element, path));
  if (path.length === 0) return resource === undefined || resource === null ? [] : [resource];
  if (!isRecord(resource)) return [];
  const [head, ...rest] = path;
  return valuesAt(resource[head ?? ''], rest);
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function globMatches(pattern: string, text: string): boolean {
  if (!pattern.includes('*')) return pattern === text;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(text);
}

function compareOrdered(operator: '<' | '>' | '<=' | '>=', text: string, value: string): boolean {
  const a = Number(text);
  const b = Number(value);
  const both = Number.isFinite(a) && Number.isFinite(b) && text.trim() !== '' && value.trim() !== '';
  const order = both ? Math.sign(a - b) : text < value ? -1 : text > value ? 1 : 0;
  if (operator === '<') return order < 0;
  if (operator === '>') return order > 0;
  if (operator === '<=') return order <= 0;
  return order >= 0;
}

function compare(resource: unknown, field: string, operator: Operator, value: string): boolean {
  const leaves = valuesAt(resource, field.split('.'))
    .map(scalarText)
    .filter((text): text is string => text !== undefined);
  switch (operator) {
    case '=':
      return leaves.some((text) => globMatches(value, text));
    case '!=':
      return !leaves.some((text) => globMatches(value, text));
    case ':':
      if (value === '*') return leaves.some((text) => text !== '');
      return leaves.some((text) => text.includes(value));
    case 'eq':
      return leaves.some((text) => new RegExp(`^(?:${value})$`).test(text));
    case 'ne':
      return !leaves.some((text) => new RegExp(`^(?:${value})$`).test(text));
    default:
      return leaves.some((text) => compareOrdered(operator, text, value));
  }
}

export function matchesFilter(resource: unknown, expression: FilterExpression | undefined): boolean {
  if (!expression) return true;
  switch (expression.kind) {
    case 'and':
      return matchesFilter(resource, expression.left) && matchesFilter(resource, expression.right);
    case 'or':
      return matchesFilter(resource, expression.left) || matchesFilter(resource, expression.right);
    case 'not':
      return !matchesFilter(resource, expression.inner);
    case 'compare':
      return compare(resource, expression.field, expression.operator, expression.value);
  }
}
