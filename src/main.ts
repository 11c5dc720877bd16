#!/usr/bin/env node
// The sluice CLI: `sluice controller | plan | version`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ConfigError, flagHelp, loadConfig } from './config/config.ts';
import { runController } from './controller/manager.ts';
import { planServices } from './controller/offline-plan.ts';
import { runImport } from './import/import-command.ts';
import { KubeConfigError } from './kube/kube-config.ts';
import { createLogger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { createProvider } from './providers/index.ts';
import { speakerCommand } from './speaker/command.ts';
import { VERSION } from './version.ts';

const USAGE = `sluice ${VERSION} — LoadBalancer Services, provisioned.

Usage:
  sluice controller [flags]     run the controller (flags also read from SLUICE_<FLAG> variables)
  sluice speaker --node-name N  announce addresses on this node's network (bare metal, layer 2;
                                 a DaemonSet): sluice speaker --help lists its flags
  sluice plan -f FILE [-f FILE]  show the intent and plan for Service manifests (and AddressPools
                                 in the same files) without touching any cluster or cloud
  sluice import metallb FILE     convert MetalLB pools and L2Advertisements (FILE or - for stdin)
                                 into Sluice manifests on stdout, for kubectl apply -f -
  sluice version                 print the version

Controller flags:
${flagHelp()}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'controller':
      return controller(rest);
    case 'plan':
      return plan(rest);
    case 'speaker':
      return speakerCommand(rest);
    case 'import':
      return runImport(rest, {
        readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
      });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function controller(args: string[]): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(args, process.env);
  } catch (error) {
    if (error instanceof ConfigError || (error instanceof Error && 'code' in error)) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  log.info(
    {
      version: VERSION,
      provider: config.provider,
      loadBalancerClass: config.loadBalancerClass,
      manageUnclassed: config.manageUnclassed,
      workers: config.workers,
    },
    'starting sluice controller',
  );
  // Signals are handled from the start, so a SIGTERM while the caches sync still shuts down cleanly.
  const abort = new AbortController();
  process.once('SIGTERM', () => abort.abort('SIGTERM'));
  process.once('SIGINT', () => abort.abort('SIGINT'));
  const metrics = new Metrics();
  const provider = createProvider(config, { log, metrics });
  const running = await runController(config, provider, log, abort.signal, metrics);
  await running.stopped();
  return 0;
}

async function plan(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { file: { type: 'string', short: 'f', multiple: true } } });
  const files = values.file ?? [];
  if (files.length === 0) {
    process.stderr.write('sluice plan: give at least one manifest with -f FILE\n');
    return 2;
  }
  const objects: unknown[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file === '-' ? 0 : file, 'utf8'))) {
      if (doc.errors.length > 0) {
        process.stderr.write(`${file}: ${doc.errors[0]!.message}\n`);
        return 2;
      }
      const value: unknown = doc.toJS();
      if (value && typeof value === 'object') objects.push(value);
    }
  }
  const output = await planServices(objects);
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof KubeConfigError) {
      process.stderr.write(`sluice: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `sluice: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
