/**
 * Self-signed certificates for TLS tests. Node cannot mint X.509 certificates by itself, so these are throwaway pairs
 * generated once with openssl (CN=127.0.0.1, subjectAltName IP:127.0.0.1 and DNS:localhost, valid 100 years) and kept
 * as test fixtures. They protect nothing: never use them outside tests.
 */
import { readFileSync } from 'node:fs';

export interface CertPair {
  key: string;
  cert: string;
}

const TLS_DIR = new URL('../fixtures/tls/', import.meta.url);

function load(prefix: 'appliance' | 'other'): CertPair {
  return {
    key: readFileSync(new URL(`${prefix}-key.pem`, TLS_DIR), 'utf8'),
    cert: readFileSync(new URL(`${prefix}-cert.pem`, TLS_DIR), 'utf8'),
  };
}

/** The appliance's pair. Both names the certificate covers are accepted; anything else has no fixture. */
export function selfSignedCert(commonName = '127.0.0.1'): CertPair {
  if (commonName !== '127.0.0.1' && commonName !== 'localhost') {
    throw new Error(`no certificate fixture for ${commonName}: the fixtures cover 127.0.0.1 and localhost`);
  }
  return load('appliance');
}

/**
 * A second, unrelated pair for the same names: a client trusting (or pinning) selfSignedCert() must refuse a server
 * presenting this one.
 */
export function otherSelfSignedCert(): CertPair {
  return load('other');
}
