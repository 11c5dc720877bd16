// `sluice speaker`: parse the configuration, run until SIGTERM/SIGINT, then withdraw every address,
// delete the heartbeat Lease and exit 0.
import { ConfigError } from '../config/config.ts';
import { loadSpeakerConfig, type SpeakerConfig, speakerFlagHelp } from '../config/speaker-config.ts';
import { createLogger } from '../observability/logger.ts';
import { VERSION } from '../version.ts';
import { runSpeaker } from './speaker.ts';

const SPEAKER_USAGE = `sluice speaker — announce LoadBalancer addresses on this node's network (bare metal, layer 2).

Usage: sluice speaker --node-name NAME [flags]   (flags also read from SLUICE_<FLAG> variables)

Flags:
${speakerFlagHelp()}

Needs: ip (iproute2), arping (iputils-arping), na6 (ipv6toolkit) on PATH, and CAP_NET_ADMIN, CAP_NET_RAW,
CAP_SETUID and CAP_SETGID (na6 drops to nobody once its socket is open)
in the host network namespace.
`;

export async function speakerCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(SPEAKER_USAGE);
    return 0;
  }
  let config: SpeakerConfig;
  try {
    config = loadSpeakerConfig(args, process.env);
  } catch (error) {
    if (error instanceof ConfigError || (error instanceof Error && 'code' in error)) {
      process.stderr.write(`sluice speaker: ${error.message}\n\nsee: sluice speaker --help\n`);
      return 2;
    }
    throw error;
  }
  const log = createLogger(config.logLevel).child({ node: config.nodeName });
  log.info(
    {
      version: VERSION,
      namespace: config.namespace,
      loadBalancerClass: config.loadBalancerClass,
      manageUnclassed: config.manageUnclassed,
      heartbeatDurationSeconds: config.heartbeat.durationMs / 1000,
      heartbeatIntervalSeconds: config.heartbeat.intervalMs / 1000,
    },
    'starting sluice speaker',
  );
  // Signals are handled from the start, so a SIGTERM while the caches sync still shuts down cleanly.
  const abort = new AbortController();
  process.once('SIGTERM', () => abort.abort('SIGTERM'));
  process.once('SIGINT', () => abort.abort('SIGINT'));
  const running = await runSpeaker(config, log, abort.signal);
  await new Promise<void>((resolve) => {
    if (abort.signal.aborted) resolve();
    else abort.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await running.stopped();
  log.info('stopped');
  return 0;
}
