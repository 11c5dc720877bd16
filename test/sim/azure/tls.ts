// A throwaway CA and a server certificate it signs, made with the openssl CLI each time a simulator starts.
// @azure/core-rest-pipeline refuses to send a bearer token over plain http, so the simulator must speak
// TLS, and a client must trust it: it is given the CA certificate (PEM) and builds its own https.Agent with
// it, so nothing global (NODE_EXTRA_CA_CERTS, NODE_TLS_REJECT_UNAUTHORIZED) changes. node:crypto makes keys
// but cannot issue X.509 certificates, hence openssl. Keys never leave the temporary directory except into
// the server's memory; the directory is removed before returning.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServerCertificate {
  /** Trust anchor for clients (PEM). */
  caCertificate: string;
  /** The server's certificate (PEM), for 127.0.0.1, ::1 and localhost. */
  certificate: string;
  privateKey: string;
}

export async function createServerCertificate(days = 7): Promise<ServerCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-arm-sim-tls-'));
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-days',
      String(days),
      '-subj',
      '/CN=Sluice ARM simulator test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      at('server.key'),
      '-out',
      at('server.csr'),
      '-subj',
      '/CN=localhost',
    ]);
    await writeFile(
      at('server.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
        '',
      ].join('\n'),
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('server.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(days),
      '-extfile',
      at('server.ext'),
      '-out',
      at('server.crt'),
    ]);
    const [caCertificate, certificate, privateKey] = await Promise.all(
      ['ca.crt', 'server.crt', 'server.key'].map((name) => readFile(at(name), 'utf8')),
    );
    return {
      caCertificate: caCertificate ?? '',
      certificate: certificate ?? '',
      privateKey: privateKey ?? '',
    };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(
      `could not make the simulator's TLS certificate with openssl (is it installed?): ${detail}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
