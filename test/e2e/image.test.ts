// The container image, checked without a container engine (none runs on our machines): the
// Dockerfile lints clean, its own steps are carried out in overlay layers over this machine's
// Debian root (the stand-in for the Debian base image), and the resulting tree starts as the
// image would: as user 65532, on a read-only root filesystem, through its ENTRYPOINT, against the
// real test cluster. The speaker's tools (installed by the Dockerfile's apt-get step, since the
// stand-in base has them purged) work in it with only the capabilities the speaker's DaemonSet
// grants.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import {
  announceCommands,
  type Command,
  commandText,
  readInterfacesCommand,
  releaseCommand,
  takeCommand,
} from '../../src/speaker/commands.ts';
import { testCluster } from '../harness/test-cluster.ts';
import { type Rehearsal, rehearse } from './dockerfile-rehearsal.ts';
import { installCrds, waitFor } from './support.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_BIN = dirname(fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url)));
const UID = 65532;
// The Debian packages the speaker's commands come from. The node:24-bookworm-slim base has none of
// them, so the stand-in base has them purged and the Dockerfile must install them.
const SPEAKER_PACKAGES = ['iproute2', 'iputils-arping', 'ipv6toolkit'];
// What charts/sluice/templates/speaker-daemonset.yaml grants the speaker (helm-chart.test.ts checks the chart).
const SPEAKER_CAPABILITIES = ['net_admin', 'net_raw', 'setuid', 'setgid'];
let scratch = '';
let image: Rehearsal;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sluice-image-'));
  chmodSync(scratch, 0o755);
  // ndisc6 too: ipv6toolkit pulls it in on this machine, and it must not be left behind in the base.
  image = rehearse(ROOT, scratch, NODE_BIN, { absentFromBase: [...SPEAKER_PACKAGES, 'ndisc6'] });
});

after(async () => {
  // Whatever a failed test left running from the rebuilt tree.
  try {
    execFileSync('pkill', ['-KILL', '-f', `${scratch}/`]);
  } catch {
    // nothing was running
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs the image's ENTRYPOINT (its paths mapped onto the rebuilt tree) as the image's user on a read-only root. */
function entrypoint(args: string[]): ReturnType<typeof spawn> {
  const [program, ...rest] = image.entrypoint;
  assert.equal(program, 'node', 'the entrypoint runs node from the base image');
  const mapped = rest.map((a) =>
    a.startsWith(`${image.workdir}/`) ? join(image.root, a.slice(image.workdir.length + 1)) : a,
  );
  return asImageUser([...mapped, ...args]);
}

/** Runs node with `args` as the image's user, with its ENV, on a read-only root filesystem. */
function asImageUser(args: string[]): ReturnType<typeof spawn> {
  const env = Object.entries(image.env).map(([k, v]) => `${k}=${v}`);
  const [uid, gid] = image.user.split(':');
  // A private mount namespace whose root is remounted read-only, as readOnlyRootFilesystem does.
  const script = 'mount --bind / / && mount -o remount,ro,bind / && exec "$@"';
  return spawn(
    'unshare',
    [
      '--mount',
      '--fork',
      'sh',
      '-c',
      script,
      'sh',
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${gid ?? uid}`,
      '--clear-groups',
      '--inh-caps=-all',
      'env',
      '-i',
      `PATH=${NODE_BIN}:/usr/bin:/bin`,
      ...env,
      'node',
      ...args,
    ],
    { cwd: image.root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

describe('container image', () => {
  test('the Dockerfile lints clean', () => {
    const diagnostics = validate(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    assert.deepEqual(diagnostics, []);
  });

  test('it builds on a Node 24 base, runs as a non-root user, with OCI labels and an exec-form entrypoint', () => {
    for (const base of image.baseImages) assert.match(base, /^node:24[-.]/);
    assert.equal(image.user, `${UID}:${UID}`);
    assert.deepEqual(image.entrypoint, ['node', '/app/dist/main.js']);
    assert.deepEqual(image.cmd, ['controller']);
    for (const label of ['title', 'description', 'version', 'licenses', 'source']) {
      assert.ok(image.labels[`org.opencontainers.image.${label}`], `label org.opencontainers.image.${label}`);
    }
  });

  test('the final tree holds the compiled controller and production dependencies only', () => {
    assert.ok(existsSync(join(image.root, 'dist/main.js')));
    assert.ok(existsSync(join(image.root, 'node_modules/@kubernetes/client-node')));
    for (const dev of ['typescript', '@biomejs/biome', 'node', 'dockerfile-ast', 'dockerfile-utils']) {
      assert.ok(
        !existsSync(join(image.root, 'node_modules', dev)),
        `${dev} is a devDependency and must not ship`,
      );
    }
    assert.ok(!existsSync(join(image.root, 'src')), 'sources do not ship');
  });

  test('the stand-in for readOnlyRootFilesystem really is read-only', async () => {
    const probe = join(image.root, 'probe');
    const child = asImageUser(['-e', `require('fs').writeFileSync(${JSON.stringify(probe)}, 'x')`]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(err, /EROFS|read-only file system/i);
  });

  test('the entrypoint prints the version as user 65532 on a read-only root filesystem', async () => {
    const child = entrypoint(['version']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, err);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    assert.equal(out.trim(), version);
  });

  test('the default command runs the controller: it syncs its caches and stops cleanly on SIGTERM', async () => {
    const cluster = testCluster();
    await installCrds(cluster);
    // The image's user must be able to read its kubeconfig, as a mounted token would be.
    const kubeconfig = join(scratch, 'kubeconfig');
    copyFileSync(cluster.kubeconfigPath, kubeconfig);
    chownSync(kubeconfig, UID, UID);
    const child = entrypoint([
      ...image.cmd,
      `--kubeconfig=${kubeconfig}`,
      '--health-address=127.0.0.1:0',
      '--leader-elect=false',
      '--load-balancer-class=sluice.dev/e2e-image',
    ]);
    const lines: string[] = [];
    child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n')));
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(
      () => lines.some((l) => l.includes('"msg":"reconciling"')),
      20_000,
      () => `${lines.join('\n')}\n${err}`,
    );
    // It really runs as 65532: unshare forks, so the controller is a grandchild; find it by its parent chain.
    const pids = execFileSync('pgrep', ['-f', `${image.root}/dist/main.js`])
      .toString()
      .trim()
      .split('\n');
    const uids = pids.map((pid) => /Uid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    assert.ok(uids.includes(String(UID)), `uids ${uids}`);
    execFileSync('pkill', ['-TERM', '-f', `${image.root}/dist/main.js`]);
    assert.equal(await exited, 0, err);
    assert.ok(lines.some((l) => l.includes('"msg":"shutting down"')));
  });

  test('the runtime stage installs the speaker tools with apt-get --no-install-recommends and keeps no apt lists', () => {
    // Cleaning in the same RUN as the install is what keeps the lists out of the image's layers.
    const runs = DockerfileParser.parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
      .getInstructions()
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getRawArgumentsContent() ?? '');
    const installs = runs.filter((r) => /apt-get\s+install/.test(r));
    assert.ok(installs.length > 0, 'no apt-get install step');
    for (const run of installs) {
      assert.match(run, /--no-install-recommends/);
      assert.match(run, /\s-y\s|--yes/);
      assert.match(run, /rm -rf \/var\/lib\/apt\/lists\/\*/);
    }
    const installed = image.exec(
      `dpkg-query -W -f='\${Package} \${Status}\\n' ${SPEAKER_PACKAGES.join(' ')}`,
    );
    for (const pkg of SPEAKER_PACKAGES)
      assert.match(installed, new RegExp(`^${pkg} install ok installed$`, 'm'));
    assert.equal(image.exec('ls -A /var/lib/apt/lists').trim(), '', 'apt lists left in the image');
    // iputils' arping (the speaker's -U/-A flags), not the arping package of the same name.
    assert.match(image.exec('arping -V 2>&1'), /iputils/);
  });

  test('the speaker commands work in the image as root with only the DaemonSet capabilities, on a read-only root', () => {
    const placements = [
      { family: 'IPv4' as const, address: '192.0.2.77', interface: 'sluice0' },
      { family: 'IPv6' as const, address: '2001:db8:77::7', interface: 'sluice0' },
    ] as const;
    const [v4, v6] = placements;
    const quoted = (c: Command): string => [c.file, ...c.args].map((a) => `'${a}'`).join(' ');
    // Each command's output goes to stderr (na6 reports errors on stdout), so a failure shows why.
    const line = (c: Command): string =>
      `${quoted(c)} >&2 || { echo "failed: ${commandText(c)}" >&2; exit 1; }`;
    // In a network namespace of its own with a veth pair standing in for the node's interface, set up
    // with full rights; then as the DaemonSet's container: uid 0, bounding set = the granted capabilities,
    // no_new_privs (allowPrivilegeEscalation: false), read-only root. Returns stdout, or throws with stderr.
    const speakerLike = (capabilities: readonly string[], script: string): string => {
      const bounding = ['-all', ...capabilities.map((c) => `+${c}`)].join(',');
      return image.exec(
        [
          "inner=$(cat <<'INNER'",
          script,
          'INNER',
          ')',
          "unshare --net --mount --fork sh -ec '",
          '  ip link add sluice0 type veth peer name sluice1',
          '  ip link set sluice0 up && ip link set sluice1 up',
          '  ip addr add 192.0.2.1/24 dev sluice0 && ip -6 addr add 2001:db8:77::1/64 dev sluice0 nodad',
          '  mount --bind / / && mount -o remount,ro,bind /',
          `  exec setpriv --no-new-privs --inh-caps=-all --bounding-set=${bounding} sh -ec "$1"`,
          `' sh "$inner"`,
        ].join('\n'),
      );
    };
    const stderrOf = (run: () => string): string => {
      try {
        run();
      } catch (error) {
        return String((error as { stderr?: Buffer }).stderr ?? error);
      }
      assert.fail('expected the commands to fail');
    };

    const script = [
      line(readInterfacesCommand()),
      ...placements.flatMap((p) => [takeCommand(p, 5), ...announceCommands(p)]).map(line),
      'ip -j addr show dev sluice0',
      ...placements.map((p) => line(releaseCommand(p))),
      'if touch /probe 2>/dev/null; then echo "the root filesystem is writable" >&2; exit 1; fi',
    ].join('\n');
    const addresses = JSON.parse(speakerLike(SPEAKER_CAPABILITIES, script)) as Array<{
      addr_info: Array<{
        local: string;
        prefixlen: number;
        valid_life_time: number;
        preferred_life_time: number;
      }>;
    }>;
    for (const p of placements) {
      const entry = addresses[0]?.addr_info.find((a) => a.local === p.address);
      assert.ok(entry, `${p.address} was not added: ${JSON.stringify(addresses)}`);
      assert.equal(entry.prefixlen, p.family === 'IPv4' ? 32 : 128);
      assert.ok(entry.valid_life_time <= 5, `valid_lft ${entry.valid_life_time}`);
      assert.equal(entry.preferred_life_time, 0);
    }

    // Each capability granted is needed: without NET_RAW arping cannot open its socket, without
    // SETUID or SETGID na6 refuses to run (it drops from root to nobody once its socket is open), and
    // without NET_ADMIN no address can be added.
    const without = (c: string): string[] => SPEAKER_CAPABILITIES.filter((x) => x !== c);
    const arping = [takeCommand(v4, 5), announceCommands(v4)[0]!].map(line).join('\n');
    assert.match(
      stderrOf(() => speakerLike(without('net_raw'), arping)),
      /failed: arping/,
    );
    const na6 = [takeCommand(v6, 5), announceCommands(v6)[0]!].map(line).join('\n');
    for (const c of ['setuid', 'setgid']) {
      assert.match(
        stderrOf(() => speakerLike(without(c), na6)),
        /releasing superuser privileges[\s\S]*failed: na6/,
      );
    }
    assert.match(
      stderrOf(() => speakerLike(without('net_admin'), line(takeCommand(v4, 5)))),
      /failed: ip -4 addr replace/,
    );
  });
});
