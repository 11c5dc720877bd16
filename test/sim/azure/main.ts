// The ARM simulator as its own process, for the demo and for anything not written in this test runner:
//
//   node test/sim/azure/main.ts --port 8443 [--seed seed.json] [--ca-file ca.pem] [--subscription ID]
//                               [--provisioning-delay-ms 2000] [--poll-retry-after 10] [--location eastus]
//
// Prints one JSON line on stdout once it listens: {"endpoint","subscriptionId","caFile","caCertificate",
// "accessToken","controlUrl"}; runs until SIGINT/SIGTERM. Without --seed it seeds demoSeed(): resource group
// "sluice", VNet "sluice-vnet" (subnets "nodes", "services") and NSG "sluice-nodes-nsg".

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseSeed } from './control-api.ts';
import { parseJson } from './json.ts';
import { demoSeed } from './seed.ts';
import type { SettingsPatch } from './settings.ts';
import { startAzureSimulator } from './simulator.ts';

const USAGE =
  'usage: node test/sim/azure/main.ts [--port N] [--host 127.0.0.1] [--seed FILE.json] [--ca-file FILE]\n' +
  '         [--subscription ID] [--location REGION] [--provisioning-delay-ms N] [--poll-retry-after S]';

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number, got "${text}"`);
  return Number(text);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      'ca-file': { type: 'string' },
      subscription: { type: 'string' },
      location: { type: 'string' },
      'provisioning-delay-ms': { type: 'string' },
      'poll-retry-after': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let seed = demoSeed(values.location ?? 'eastus');
  if (values.seed) {
    const parsed = parseJson(await readFile(values.seed, 'utf8'));
    if (parsed === undefined) throw new Error(`${values.seed} is not valid JSON`);
    seed = parseSeed(parsed);
  }
  const settings: SettingsPatch = {};
  const delay = integer('provisioning-delay-ms', values['provisioning-delay-ms']);
  if (delay !== undefined) settings.provisioningDelayMs = delay;
  const retryAfter = integer('poll-retry-after', values['poll-retry-after']);
  if (retryAfter !== undefined) settings.pollRetryAfterSeconds = retryAfter;

  const sim = await startAzureSimulator({
    port: integer('port', values.port) ?? 0,
    ...(values.host ? { host: values.host } : {}),
    ...(values.subscription ? { subscriptionId: values.subscription } : {}),
    seed,
    settings,
  });
  if (values['ca-file']) await writeFile(values['ca-file'], sim.caCertificate, { mode: 0o644 });
  process.stdout.write(
    `${JSON.stringify({
      endpoint: sim.endpoint,
      subscriptionId: sim.subscriptionId,
      caFile: values['ca-file'] ?? null,
      caCertificate: sim.caCertificate,
      accessToken: sim.accessToken,
      controlUrl: `${sim.endpoint}/_sim`,
    })}\n`,
  );
  const stop = () => {
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `arm simulator: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`,
  );
  process.exit(2);
});
