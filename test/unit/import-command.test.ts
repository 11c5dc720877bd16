import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImportIO, runImport } from '../../src/import/import-command.ts';
import { parseManifestStream, renderYamlStream } from '../../src/import/yaml-stream.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command on in-memory files; `-` reads `stdin`. */
function run(args: string[], files: Record<string, string> = {}, stdin = ''): Run {
  let stdout = '';
  let stderr = '';
  const io: ImportIO = {
    readFile: (path) => {
      if (path === '-') return stdin;
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return text;
    },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  };
  const code = runImport(args, io);
  return { code, stdout, stderr };
}

const METALLB = `# MetalLB's own example, as a user has it
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: first-pool
  namespace: metallb-system
  labels:
    enabled: "on"
spec:
  addresses:
  - 192.168.10.0/24
  - 192.168.9.1-192.168.9.5
  - fc00:f853:0ccd:e799::/124
  autoAssign: no
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: example
  namespace: metallb-system
spec:
  ipAddressPools:
  - first-pool
  serviceSelectors:
  - matchLabels: {app: web}
---
`;

describe('sluice import: success', () => {
  it('writes the Sluice objects to stdout and warnings and a summary to stderr, exit 0', () => {
    const { code, stdout, stderr } = run(['metallb', 'pools.yaml'], { 'pools.yaml': METALLB });
    assert.equal(code, 0, stderr);
    const parsed = parseManifestStream(stdout);
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.documents.map((d) => (d as { kind: string }).kind),
      ['AddressPool', 'L2Advertisement'],
    );
    assert.match(stdout, /^# Converted by sluice import metallb from pools\.yaml\.\n/);
    assert.match(
      stderr,
      /^sluice import: warning: L2Advertisement metallb-system\/example: spec\.serviceSelectors has no Sluice equivalent yet/m,
    );
    assert.match(
      stderr,
      /^sluice import: converted 1 AddressPool and 1 L2Advertisement from pools\.yaml with 1 warning$/m,
    );
  });

  it('reads YAML 1.1 booleans the way kubectl does, and quotes strings that kubectl would read as booleans', () => {
    const { stdout } = run(['metallb', 'pools.yaml'], { 'pools.yaml': METALLB });
    const parsed = parseManifestStream(stdout);
    assert.ok(parsed.ok);
    const pool = parsed.documents[0] as {
      metadata: { labels: Record<string, unknown> };
      spec: Record<string, unknown>;
    };
    assert.equal(pool.spec.autoAssign, false);
    assert.equal(pool.metadata.labels.enabled, 'on');
    assert.match(stdout, /enabled: "on"/);
  });

  it('reads standard input for -', () => {
    const { code, stdout } = run(['metallb', '-'], {}, METALLB);
    assert.equal(code, 0);
    assert.match(stdout, /kind: AddressPool/);
    assert.match(stdout, /from standard input/);
  });

  it('--help prints the usage to stdout, exit 0', () => {
    const { code, stdout } = run(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: sluice import metallb FILE/);
  });
});

describe('sluice import: failures', () => {
  const usage: Array<[string, string[], RegExp]> = [
    ['no source', [], /say what to import; the only source is: metallb/],
    ['an unknown source', ['cilium', 'f.yaml'], /cannot import from "cilium"/],
    ['no file', ['metallb'], /give the FILE to read \(- for standard input\)/],
    ['two files', ['metallb', 'a.yaml', 'b.yaml'], /give exactly one FILE/],
    ['an unknown flag', ['metallb', '--force', 'a.yaml'], /Unknown option '--force'/],
  ];
  for (const [name, args, message] of usage) {
    it(`${name} is a usage error: exit 2, the usage on stderr, nothing on stdout`, () => {
      const { code, stdout, stderr } = run(args);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr, message);
      assert.match(stderr, /Usage: sluice import metallb FILE/);
    });
  }

  it('a missing file: exit 2, naming the file', () => {
    const { code, stderr } = run(['metallb', 'gone.yaml']);
    assert.equal(code, 2);
    assert.match(stderr, /cannot read gone\.yaml: ENOENT/);
  });

  it('broken YAML: exit 2, naming the document and position', () => {
    const { code, stdout, stderr } = run(['metallb', 'bad.yaml'], {
      'bad.yaml': `${METALLB}apiVersion: v1\nkind: [unclosed\n`,
    });
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /bad\.yaml is not YAML manifests: document 3: .*line \d+, column \d+/);
  });

  it('a document that is not a map: exit 2', () => {
    const { code, stderr } = run(['metallb', 'list.yaml'], { 'list.yaml': '- a\n- b\n' });
    assert.equal(code, 2);
    assert.match(stderr, /document 1 is not a Kubernetes object/);
  });

  it('a conversion error: exit 1, every error on stderr and nothing at all on stdout', () => {
    const clash = METALLB.replaceAll('namespace: metallb-system', 'namespace: other');
    const { code, stdout, stderr } = run(['metallb', 'two.yaml'], { 'two.yaml': `${METALLB}${clash}` });
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(
      stderr,
      /^sluice import: error: IPAddressPool other\/first-pool: would become AddressPool "first-pool"/m,
    );
    assert.match(stderr, /^sluice import: nothing written: 2 errors in two\.yaml$/m);
  });

  it('nothing to convert: exit 1', () => {
    const { code, stdout, stderr } = run(
      ['metallb', '-'],
      {},
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n',
    );
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /nothing to import/);
  });
});

describe('YAML stream', () => {
  it('round-trips objects through the rendered text', () => {
    const objects = [
      { kind: 'A', metadata: { labels: { a: 'yes', b: '0777', c: 'null', d: '1:20' } } },
      { kind: 'B', spec: { list: ['2001:db8::/64', '192.0.2.1-192.0.2.5'] } },
    ];
    const parsed = parseManifestStream(renderYamlStream(objects, ['header']));
    assert.deepEqual(parsed, { ok: true, documents: objects });
  });

  it('keeps empty documents as null', () => {
    assert.deepEqual(parseManifestStream('---\n---\nkind: A\n---\n'), {
      ok: true,
      documents: [null, { kind: 'A' }, null],
    });
  });
});
