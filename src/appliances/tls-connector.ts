import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import type { TlsConfig } from '../config/gateway-config.js';
import { FINGERPRINT_MISMATCH } from '../problems/appliance-errors.js';

function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replaceAll(':', '').toUpperCase();
}

/**
 * How we trust an appliance: system CAs by default; a CA bundle (`caFile`, typically the VMCA root);
 * or a pinned SHA-256 of the leaf certificate, as govc's thumbprints do, which replaces chain
 * verification (appliances often run self-signed VMCA certificates with stale names);
 * or, only when asked, nothing at all.
 */
export function tlsConnector(tls: TlsConfig): buildConnector.connector {
  const pin = tls.fingerprint ? normalizeFingerprint(tls.fingerprint) : undefined;
  const ca = tls.caFile ? readFileSync(tls.caFile, 'utf8') : undefined;
  const base = buildConnector({
    ca,
    // With a pin and a CA bundle both must hold; with a pin alone the pin is the trust anchor.
    rejectUnauthorized: !tls.insecure && !(pin && !ca),
    // A resumed TLS session would skip the certificate exchange we check below.
    maxCachedSessions: pin ? 0 : undefined,
  });
  if (!pin) return base;
  return (options, callback) => {
    base(options, (error, socket) => {
      if (error || !socket) return callback(error ?? new Error('no socket'), null);
      if (options.protocol !== 'https:') return callback(null, socket);
      const presented = (socket as TLSSocket).getPeerCertificate?.()?.fingerprint256;
      if (!presented || normalizeFingerprint(presented) !== pin) {
        socket.destroy();
        const mismatch = Object.assign(
          new Error("the appliance's certificate does not match the pinned SHA-256 fingerprint"),
          {
            code: FINGERPRINT_MISMATCH,
          },
        );
        return callback(mismatch, null);
      }
      callback(null, socket);
    });
  };
}
