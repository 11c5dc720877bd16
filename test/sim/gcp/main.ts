// gcp-sim as its own process (for the demo and for tests that want a separate process):
//   node test/sim/gcp/main.ts --port 0 [--pending-ms 10] [--running-ms 40] [--wait-timeout-ms 2000]
//     [--region us-central1=us-central1-a,us-central1-b ...] [--quota FORWARDING_RULES=10 ...]
//     [--external-range 203.0.113.0/24 ...] [--no-default-network] [--quota-errors-in request|operation]
// Prints one line of JSON on stdout once it listens: {"url","apiEndpoint","port","protocol"}.
// Stops on SIGTERM / SIGINT. Controls: HTTP under /_sim/ (see control-api.ts).
import { parseArgs } from 'node:util';
import type { QuotaLimits } from './quotas.ts';
import { type StartOptions, startGcpSimulator } from './server.ts';

function fail(message: string): never {
  process.stderr.write(`gcp-sim: ${message}\n`);
  process.exit(2);
}

function milliseconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) fail(`--${flag} wants milliseconds ≥ 0, not '${value}'`);
  return number;
}

function readOptions(argv: string[]): StartOptions {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '0' },
        'pending-ms': { type: 'string' },
        'running-ms': { type: 'string' },
        'wait-timeout-ms': { type: 'string' },
        region: { type: 'string', multiple: true },
        quota: { type: 'string', multiple: true },
        'external-range': { type: 'string', multiple: true },
        'no-default-network': { type: 'boolean', default: false },
        'quota-errors-in': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port wants 0-65535, not '${String(values.port)}'`);
  const options: StartOptions = { port };
  const timing = {
    pendingMs: milliseconds(values['pending-ms'] as string | undefined, 'pending-ms'),
    runningMs: milliseconds(values['running-ms'] as string | undefined, 'running-ms'),
    waitTimeoutMs: milliseconds(values['wait-timeout-ms'] as string | undefined, 'wait-timeout-ms'),
  };
  options.operations = Object.fromEntries(Object.entries(timing).filter(([, value]) => value !== undefined));
  const regions = values.region as string[] | undefined;
  if (regions && regions.length > 0) {
    options.regions = Object.fromEntries(
      regions.map((entry) => {
        const [region, zones] = entry.split('=');
        if (!region || !zones) fail(`--region wants region=zone,zone,... not '${entry}'`);
        return [region, zones.split(',').filter(Boolean)];
      }),
    );
  }
  const quotas = values.quota as string[] | undefined;
  if (quotas && quotas.length > 0) {
    const limits: Record<string, number> = {};
    for (const entry of quotas) {
      const [metric, limit] = entry.split('=');
      if (!metric || limit === undefined || !/^\d+$/.test(limit))
        fail(`--quota wants METRIC=number, not '${entry}'`);
      limits[metric] = Number(limit);
    }
    options.quotas = { limits: limits as QuotaLimits };
  }
  const ranges = values['external-range'] as string[] | undefined;
  if (ranges && ranges.length > 0) options.externalAddressRanges = ranges;
  if (values['no-default-network'] === true) options.defaultNetwork = false;
  const where = values['quota-errors-in'];
  if (where !== undefined) {
    if (where !== 'request' && where !== 'operation')
      fail(`--quota-errors-in wants request or operation, not '${String(where)}'`);
    options.quotaErrorsIn = where;
  }
  return options;
}

const options = readOptions(process.argv.slice(2));
let simulator: Awaited<ReturnType<typeof startGcpSimulator>>;
try {
  simulator = await startGcpSimulator(options);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
// Handlers first: whoever reads the endpoint line may signal at once.
const shutdown = (): void => {
  void simulator.stop().then(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
process.stdout.write(
  `${JSON.stringify({ url: simulator.url, apiEndpoint: simulator.apiEndpoint, port: simulator.port, protocol: simulator.protocol })}\n`,
);
