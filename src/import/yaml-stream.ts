// Multi-document YAML in and out, the way kubectl reads it. kubectl's YAML reader follows YAML 1.1 (`autoAssign:
// no` is false), so input is read as 1.1, and output is written as 1.1 so that strings like "no", "on" or "0777"
// come out quoted and reach the cluster as strings.
import { parseAllDocuments, stringify } from 'yaml';

export type ParsedStream = { ok: true; documents: unknown[] } | { ok: false; error: string };

/**
 * The documents of a manifest stream: each a map, or null for an empty document (a trailing `---`). A document
 * that is something else (a bare string or list) is an error: the input is not manifests.
 */
export function parseManifestStream(text: string): ParsedStream {
  const documents: unknown[] = [];
  for (const [i, document] of parseAllDocuments(text, { version: '1.1', prettyErrors: true }).entries()) {
    const error = document.errors[0];
    if (error)
      return { ok: false, error: `document ${i + 1}: ${error.message.replace(/\n\s*\n/g, '\n').trim()}` };
    const value: unknown = document.toJS({ maxAliasCount: 1000 });
    if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
      return {
        ok: false,
        error: `document ${i + 1} is not a Kubernetes object (a map with apiVersion and kind)`,
      };
    }
    documents.push(value);
  }
  return { ok: true, documents };
}

/** `---`-separated documents, ready for `kubectl apply -f -`. */
export function renderYamlStream(objects: readonly unknown[], header: string[] = []): string {
  const comments = header.map((line) => `# ${line}\n`).join('');
  return comments + objects.map((o) => stringify(o, { version: '1.1', lineWidth: 0 })).join('---\n');
}
