import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import { type TlsConfig, withoutFingerprintLabel } from '../config/gateway-config.js';
import { FINGERPRINT_MISMATCH, TLS_TRUST, type TlsTrust } from '../problems/appliance-errors.js';

function normalizeFingerprint(fingerprint: string): string {
  return withoutFingerprintLabel(fingerprint).replaceAll(':', '').toUpperCase();
}

/** Makes the connector with undici's buildConnector, handed over once undici is loaded (vapi-client.ts). */
export type TlsConnectorFactory = (build: typeof buildConnector) => buildConnector.connector;

/**
 * How we trust an appliance: system CAs by default; a CA bundle (`caFile`, typically the VMCA root);
 * or a pinned SHA-256 of the leaf certificate, as govc's thumbprints do, which replaces chain
 * verification (appliances often run self-signed VMCA certificates with stale names);
 * or, only when asked, nothing at all.
 * The trust is read now, where the appliance is configured (a CA file that cannot be read fails there); the
 * connector is made when the appliance's pool is, on its first request.
 */
export function tlsConnector(tls: TlsConfig): TlsConnectorFactory {
  const pin = tls.fingerprint ? normalizeFingerprint(tls.fingerprint) : undefined;
  const ca = tls.caFile ? readFileSync(tls.caFile, 'utf8') : undefined;
  return (build) => connector(tls, pin, ca, build);
}

function connector(
  tls: TlsConfig,
  pin: string | undefined,
  ca: string | undefined,
  build: typeof buildConnector,
): buildConnector.connector {
  const base = build({
    ca,
    // With a pin and a CA bundle both must hold; with a pin alone the pin is the trust anchor.
    rejectUnauthorized: !tls.insecure && !(pin && !ca),
    // A resumed TLS session would skip the certificate exchange we check below.
    maxCachedSessions: pin ? 0 : undefined,
  });
  // A failed connection says how it trusted the appliance, so that its advice fits: "configure tls.caFile" is no
  // help to whoever has set one, nor to an https URL that names a plain-http port.
  const trust: TlsTrust = { caFile: tls.caFile, fingerprint: pin !== undefined, insecure: tls.insecure };
  const failed = (error: Error, callback: buildConnector.Callback) => {
    if (error !== null && typeof error === 'object') Object.assign(error, { [TLS_TRUST]: trust });
    callback(error, null);
  };
  return (options, callback) => {
    base(options, (error, socket) => {
      if (error || !socket) return failed(error ?? new Error('no socket'), callback);
      if (!pin || options.protocol !== 'https:') return callback(null, socket);
      const presented = (socket as TLSSocket).getPeerCertificate?.()?.fingerprint256;
      if (!presented || normalizeFingerprint(presented) !== pin) {
        socket.destroy();
        const mismatch = Object.assign(
          new Error("the appliance's certificate does not match the pinned SHA-256 fingerprint"),
          {
            code: FINGERPRINT_MISMATCH,
          },
        );
        return failed(mismatch, callback);
      }
      callback(null, socket);
    });
  };
}
