import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files made for one test by Debian's openssl: a CA, certificates it signed, and one a stranger's CA signed. */
export interface TestCertificates {
  ca: string;
  /** For 127.0.0.1 and localhost (servers and, with mutual TLS, their clients too). */
  node: { cert: string; key: string };
  /** A client certificate the CA signed (the admin API's, with mutual TLS). */
  client: { cert: string; key: string };
  /** A client certificate signed by another CA: a mutual-TLS server must refuse it. */
  stranger: { cert: string; key: string };
}

/** Makes the certificates in `dir` (file paths in the result). */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args);
  const makeCa = async (name: string) => {
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`));
  };
  const sign = async (ca: string, name: string, san: string | null) => {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
    const extensions = file(`${name}.ext`);
    await writeFile(extensions, san ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n` : 'extendedKeyUsage=clientAuth\n');
    await openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.pem`), '-CAkey', file(`${ca}.key`), '-CAcreateserial',
      '-days', '2', '-extfile', extensions, '-out', file(`${name}.pem`));
  };
  await makeCa('test-ca');
  await makeCa('stranger-ca');
  await sign('test-ca', 'node', 'IP:127.0.0.1,DNS:localhost');
  await sign('test-ca', 'client', null);
  await sign('stranger-ca', 'stranger', null);
  return {
    ca: file('test-ca.pem'),
    node: { cert: file('node.pem'), key: file('node.key') },
    client: { cert: file('client.pem'), key: file('client.key') },
    stranger: { cert: file('stranger.pem'), key: file('stranger.key') },
  };
}
