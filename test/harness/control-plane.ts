// A real, minimal Kubernetes control plane for tests and the demo: etcd plus kube-apiserver, both bound to
// loopback only, with certificates minted by the openssl CLI. No controller-manager, scheduler or kubelet.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Only loopback, ever. */
const HOST = '127.0.0.1';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export type ControlPlane = {
  dir: string;
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  binDir: string;
  /** KUBECONFIG, plus PATH with binDir first. */
  env: Record<string, string>;
  /** Process ids (each the leader of its own process group). */
  pids: { etcd: number; apiserver: number };
  stop(): Promise<void>;
};

export type StartOptions = {
  binDir: string;
  dir: string;
  log?: (line: string) => void;
  /**
   * Leave etcd and kube-apiserver running after this process exits (for the `cluster.ts up` CLI): the children
   * are unref'd and, once start-up has succeeded, no exit or signal handler kills them. Default false: they
   * die with this process (exit, SIGINT, SIGTERM, SIGHUP), though not if it is SIGKILLed.
   */
  detach?: boolean;
  /** How long to wait for etcd health, /readyz and the default namespace. Default 90 s. */
  readyTimeoutMs?: number;
};

/** Runs build-binaries.sh (building the binaries the first time) and returns the bin directory it prints. */
export async function findBinDir(opts: { log?: (line: string) => void } = {}): Promise<string> {
  const script = join(import.meta.dirname, 'build-binaries.sh');
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (opts.log) for (const line of chunk.split('\n')) if (line.trim() !== '') opts.log(line);
  });
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', (c) => done(c));
  });
  const binDir = stdout.trim();
  if (code !== 0 || binDir === '') {
    throw new Error(`build-binaries.sh failed (exit ${code}):\n${stderr.trim()}`);
  }
  return binDir;
}

export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const dir = resolve(opts.dir);
  const binDir = resolve(opts.binDir);
  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  const started = Date.now();
  const deadline = started + timeoutMs;

  // The directory belongs to this control plane: clear what an earlier run left behind.
  await mkdir(dir, { recursive: true });
  for (const name of ['pki', 'etcd', 'apiserver', 'etcd.log', 'kube-apiserver.log', 'kubeconfig']) {
    await rm(join(dir, name), { recursive: true, force: true });
  }

  const pki = await mintCertificates(join(dir, 'pki'));
  const [etcdClientPort, etcdPeerPort, apiserverPort] = await freePorts(3);
  const etcdUrl = `http://${HOST}:${etcdClientPort}`;
  const peerUrl = `http://${HOST}:${etcdPeerPort}`;
  const server = `https://${HOST}:${apiserverPort}`;

  const components: Component[] = [];
  const exitHandler = (): void => {
    for (const c of components) killGroup(c.pid, 'SIGKILL');
  };
  const signalHandler = (signal: NodeJS.Signals): void => {
    exitHandler();
    // Re-raise with default behaviour unless someone else also handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const detach = opts.detach ?? false;
  const unregister = (): void => {
    process.off('exit', exitHandler);
    for (const s of signals) process.off(s, signalHandler);
  };
  // Until start-up succeeds even a detached control plane dies with this process; after that, only an
  // attached one does.
  process.on('exit', exitHandler);
  for (const s of signals) process.once(s, signalHandler);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopComponents({
        apiserver: components.find((c) => c.name === 'kube-apiserver')?.pid,
        etcd: components.find((c) => c.name === 'etcd')?.pid,
      });
      unregister();
    })();
    return stopped;
  };

  try {
    const etcd = startComponent(dir, join(binDir, 'etcd'), 'etcd', detach, [
      '--name=node0',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=node0=${peerUrl}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    components.push(etcd);
    await waitFor(`etcd health at ${etcdUrl}`, etcd, deadline, async () => {
      const res = await get(`${etcdUrl}/health`);
      return res.status === 200 && /"health":\s*"true"/.test(res.body);
    });
    log(`etcd ready at ${etcdUrl} (${Date.now() - started} ms)`);

    const apiserver = startComponent(dir, join(binDir, 'kube-apiserver'), 'kube-apiserver', detach, [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${HOST}`,
      `--advertise-address=${HOST}`,
      `--secure-port=${apiserverPort}`,
      `--cert-dir=${join(dir, 'apiserver')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${pki.saPublicKey}`,
      `--service-account-signing-key-file=${pki.saPrivateKey}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
      // Dual-stack, so that PreferDualStack/RequireDualStack Services get both families.
      '--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112',
      '--allow-privileged=true',
      // No controller-manager, so no default ServiceAccount for the admission plugin to insist on.
      '--disable-admission-plugins=ServiceAccount',
      // Keep it light on a small box.
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--endpoint-reconciler-type=none',
      '--v=1',
    ]);
    components.push(apiserver);

    const tls = {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.adminCert),
      key: readFileSync(pki.adminKey),
    };
    await waitFor(`kube-apiserver /readyz at ${server}`, apiserver, deadline, async () => {
      const res = await get(`${server}/readyz`, tls);
      if (res.status === 200 && res.body.trim() === 'ok') return true;
      // Keep the failing checks for the timeout message.
      const failing = res.body.split('\n').filter((l) => l.startsWith('[-]'));
      throw new Error(`HTTP ${res.status}${failing.length > 0 ? `: ${failing.join('; ')}` : ''}`);
    });
    log(`kube-apiserver ready at ${server} (${Date.now() - started} ms)`);
    await waitFor('the default namespace', apiserver, deadline, async () => {
      const res = await get(`${server}/api/v1/namespaces/default`, tls);
      return res.status === 200;
    });

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(server, tls.ca, tls.cert, tls.key), { mode: 0o600 });
    log(`control plane up in ${Date.now() - started} ms; KUBECONFIG=${kubeconfigPath}`);
    if (detach) unregister();

    return {
      dir,
      kubeconfigPath,
      server,
      binDir,
      env: { KUBECONFIG: kubeconfigPath, PATH: [binDir, process.env.PATH ?? ''].join(delimiter) },
      pids: { etcd: etcd.pid, apiserver: apiserver.pid },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes

type Component = { name: string; pid: number; child: ChildProcess; logPath: string; exited?: string };

function startComponent(dir: string, bin: string, name: string, detach: boolean, args: string[]): Component {
  const logPath = join(dir, `${name}.log`);
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    // Own process group, so stopping it takes every descendant along and a terminal's ^C does not.
    child = spawn(bin, args, { cwd: dir, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  const component: Component = { name, pid: child.pid, child, logPath };
  child.on('error', (err) => {
    component.exited = `failed to start: ${err.message}`;
  });
  child.on('exit', (code, signal) => {
    component.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
  });
  if (detach) child.unref();
  return component;
}

/** Sends `signal` to the process group led by `pgid`; false if there is no such group. */
function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  // Never let a bad pid turn into kill(0) or kill(-1).
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether any live (non-zombie) process is still in the process group. */
export function groupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No procfs: fall back to the kernel's answer, which counts zombies too.
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** Whether `pid` is alive and runs `binary` (guards against a recycled pid in a stale pids file). */
export function processRuns(pid: number, binary: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return argv0 === binary || argv0.endsWith(`/${binary}`);
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Stops the apiserver, then etcd: an apiserver that loses etcd mid-shutdown hangs until SIGKILL, while one
 * stopped first drains in about a second.
 */
export async function stopComponents(pids: {
  apiserver?: number | undefined;
  etcd?: number | undefined;
}): Promise<void> {
  if (pids.apiserver !== undefined) await stopProcessGroups([pids.apiserver]);
  if (pids.etcd !== undefined) await stopProcessGroups([pids.etcd]);
}

/** SIGTERM each group, SIGKILL whatever is left after `graceMs`, and wait until every group is gone. */
export async function stopProcessGroups(pgids: number[], graceMs = 5000): Promise<void> {
  const live = pgids.filter((p) => groupAlive(p));
  for (const p of live) killGroup(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (live.some((p) => groupAlive(p)) && Date.now() < deadline) await sleep(50);
  for (const p of live) if (groupAlive(p)) killGroup(p, 'SIGKILL');
  const hardDeadline = Date.now() + 10_000;
  while (live.some((p) => groupAlive(p))) {
    if (Date.now() > hardDeadline) {
      throw new Error(`process groups ${live.filter((p) => groupAlive(p)).join(', ')} survived SIGKILL`);
    }
    await sleep(50);
  }
}

async function waitFor(what: string, owner: Component, deadline: number, ready: () => Promise<boolean>) {
  const since = Date.now();
  let lastError = '';
  for (;;) {
    if (owner.exited !== undefined) {
      throw new Error(
        `${owner.name} ${owner.exited} while waiting for ${what}\n${await tail(owner.logPath)}`,
      );
    }
    try {
      if (await ready()) return;
      lastError = '';
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const last = lastError ? ` (last error: ${lastError})` : '';
      throw new Error(
        `timed out after ${Date.now() - since} ms waiting for ${what}${last}\n--- tail of ${owner.logPath} ---\n` +
          (await tail(owner.logPath)),
      );
    }
    await sleep(200);
  }
}

async function tail(path: string, lines = 40): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(could not read ${path}: ${err instanceof Error ? err.message : String(err)})`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Network

async function freePorts(n: number): Promise<number[]> {
  // Hold every listener open until all are chosen, so the same port is not handed out twice.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((done, fail) => {
          const s = createServer();
          s.once('error', fail);
          s.listen(0, HOST, () => done(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  return ports;
}

type TlsOptions = { ca: Buffer; cert: Buffer; key: Buffer };

function get(url: string, tls?: TlsOptions): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const u = new URL(url);
    if (u.hostname !== HOST) {
      fail(new Error(`refusing to contact non-loopback ${u.hostname}`));
      return;
    }
    const options = { method: 'GET', timeout: 5000, ...tls };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', fail);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------------
// Certificates and kubeconfig

type Pki = {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saPrivateKey: string;
  saPublicKey: string;
};

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(
      `openssl ${args.join(' ')} failed: ${err instanceof Error ? err.message : ''}\n${stderr}`,
    );
  }
}

async function mintCertificates(pkiDir: string): Promise<Pki> {
  await mkdir(pkiDir, { recursive: true, mode: 0o700 });
  const p = (name: string) => join(pkiDir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '3650',
      '-subj',
      '/CN=sluice-test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'subjectKeyIdentifier=hash',
    ],
    pkiDir,
  );

  const leaf = async (name: string, subject: string, extensions: string[]): Promise<void> => {
    await openssl(
      ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject],
      pkiDir,
    );
    await writeFile(p(`${name}.ext`), `${extensions.join('\n')}\n`);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        `0x${randomBytes(16).toString('hex')}`,
        '-days',
        '3650',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      pkiDir,
    );
  };

  await Promise.all([
    leaf('apiserver', '/CN=kube-apiserver', [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,' +
        'IP:127.0.0.1,IP:10.96.0.1',
      'authorityKeyIdentifier=keyid',
    ]),
    leaf('admin', '/O=system:masters/CN=sluice-admin', [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
      'authorityKeyIdentifier=keyid',
    ]),
    (async () => {
      await openssl(
        ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'],
        pkiDir,
      );
      await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], pkiDir);
    })(),
  ]);

  return {
    caCert: p('ca.crt'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saPrivateKey: p('sa.key'),
    saPublicKey: p('sa.pub'),
  };
}

function kubeconfig(server: string, ca: Buffer, cert: Buffer, key: Buffer): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
  - name: sluice-test
    cluster:
      server: ${server}
      certificate-authority-data: ${b64(ca)}
users:
  - name: sluice-admin
    user:
      client-certificate-data: ${b64(cert)}
      client-key-data: ${b64(key)}
contexts:
  - name: sluice-test
    context:
      cluster: sluice-test
      user: sluice-admin
current-context: sluice-test
`;
}
