// `sluice import metallb FILE`: reads MetalLB manifests (FILE, or - for stdin), writes Sluice manifests to stdout
// and findings to stderr. Exit codes: 0 converted (warnings allowed); 1 the input was read but cannot be converted
// as a whole (an invalid MetalLB object, two objects that would get one cluster-scoped name, or nothing to
// convert), and nothing is written to stdout; 2 usage error, unreadable file, or input that is not YAML manifests.
import { parseArgs } from 'node:util';
import { convertMetalLB, type Finding } from './metallb-convert.ts';
import { parseManifestStream, renderYamlStream } from './yaml-stream.ts';

export interface ImportIO {
  /** The file's text; `-` is standard input. Throws (with a message) when it cannot be read. */
  readFile(path: string): string;
  stdout(text: string): void;
  stderr(text: string): void;
}

const IMPORT_USAGE = `Usage: sluice import metallb FILE
  Converts MetalLB IPAddressPool, L2Advertisement (and legacy AddressPool) manifests in FILE
  (- for standard input; several documents and kubectl's List format are fine) into Sluice
  AddressPools and L2Advertisements on standard output, for kubectl apply -f -.
  Problems and skipped objects are reported on standard error.
  Exit status: 0 converted (maybe with warnings), 1 nothing written (see the errors), 2 usage or
  input that is not YAML.
`;

const SOURCES = ['metallb'] as const;

export function runImport(args: readonly string[], io: ImportIO): number {
  let positionals: string[];
  let help = false;
  try {
    const parsed = parseArgs({
      args: [...args],
      options: { help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    positionals = parsed.positionals;
    help = parsed.values.help === true;
  } catch (error) {
    io.stderr(`sluice import: ${(error as Error).message}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  if (help) {
    io.stdout(IMPORT_USAGE);
    return 0;
  }
  const [source, file, ...extra] = positionals;
  if (source === undefined || !(SOURCES as readonly string[]).includes(source)) {
    const what = source === undefined ? 'say what to import' : `cannot import from "${source}"`;
    io.stderr(`sluice import: ${what}; the only source is: ${SOURCES.join(', ')}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  if (file === undefined || extra.length > 0) {
    const what =
      file === undefined ? 'give the FILE to read (- for standard input)' : 'give exactly one FILE';
    io.stderr(`sluice import: ${what}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  const shownFile = file === '-' ? 'standard input' : file;

  let text: string;
  try {
    text = io.readFile(file);
  } catch (error) {
    io.stderr(`sluice import: cannot read ${shownFile}: ${(error as Error).message}\n`);
    return 2;
  }
  const parsed = parseManifestStream(text);
  if (!parsed.ok) {
    io.stderr(`sluice import: ${shownFile} is not YAML manifests: ${parsed.error}\n`);
    return 2;
  }

  const { manifests, findings } = convertMetalLB(parsed.documents);
  for (const finding of findings) io.stderr(formatFinding(finding));
  const errors = findings.filter((f) => f.severity === 'error').length;
  if (errors > 0) {
    io.stderr(`sluice import: nothing written: ${errors} error${errors === 1 ? '' : 's'} in ${shownFile}\n`);
    return 1;
  }
  io.stdout(renderYamlStream(manifests, [`Converted by sluice import metallb from ${shownFile}.`]));
  const counts = countByKind(manifests);
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  io.stderr(
    `sluice import: converted ${counts} from ${shownFile}` +
      (warnings > 0 ? ` with ${warnings} warning${warnings === 1 ? '' : 's'}` : '') +
      '\n',
  );
  return 0;
}

function formatFinding(finding: Finding): string {
  return `sluice import: ${finding.severity}: ${finding.subject ? `${finding.subject}: ` : ''}${finding.message}\n`;
}

function countByKind(manifests: readonly { kind: string }[]): string {
  const counts = new Map<string, number>();
  for (const m of manifests) counts.set(m.kind, (counts.get(m.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`).join(' and ');
}
