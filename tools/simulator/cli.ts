/**
 * Runs appliance simulators as a process, for demos, benchmarks and manual tests:
 *
 *   node dist-tools/simulator/cli.js --port 8443 --user administrator@vsphere.local --password secret [--tls] [--count N]
 *
 * Prints one JSON line to stdout once every simulator listens: {"urls": [...], "tls": {"cert": path} | null}.
 * Ports are consecutive from --port, or each ephemeral with --port 0. Exits 0 on SIGTERM/SIGINT.
 * The password may come from SIMULATOR_PASSWORD instead of the command line (which other users can see).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ApplianceSimulator } from './appliance-simulator.js';

const USAGE =
  'usage: cli.js --user USER (--password PASSWORD | env SIMULATOR_PASSWORD) [--port 0] [--host 127.0.0.1] [--count 1]\n' +
  '              [--tls [--tls-key FILE --tls-cert FILE]] [--job-duration-ms 3000] [--session-idle-ms 1800000]\n' +
  '              [--max-sessions N]';

function integer(name: string, value: string | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`--${name} must be a non-negative integer`);
  return parsed;
}

/** Without --tls-key/--tls-cert: the throwaway test pair, found from the working directory or from dist/. */
function defaultTlsFile(name: string): string {
  const candidates = [
    resolve(process.cwd(), 'test/fixtures/tls', name),
    fileURLToPath(new URL(`../../test/fixtures/tls/${name}`, import.meta.url)),
  ];
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) throw new Error(`--tls: ${name} not found; give --tls-key and --tls-cert`);
  return found;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      tls: { type: 'boolean' },
      'tls-key': { type: 'string' },
      'tls-cert': { type: 'string' },
      count: { type: 'string' },
      'job-duration-ms': { type: 'string' },
      'session-idle-ms': { type: 'string' },
      'max-sessions': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const password = values.password ?? process.env.SIMULATOR_PASSWORD;
  if (values.user === undefined || password === undefined)
    throw new Error(`--user and a password are required\n${USAGE}`);
  const port = integer('port', values.port, 0) ?? 0;
  const count = integer('count', values.count, 1) ?? 1;
  if (count < 1) throw new Error('--count must be at least 1');

  const useTls = values.tls === true || values['tls-key'] !== undefined || values['tls-cert'] !== undefined;
  const keyFile = useTls ? (values['tls-key'] ?? defaultTlsFile('appliance-key.pem')) : undefined;
  const certFile = useTls ? (values['tls-cert'] ?? defaultTlsFile('appliance-cert.pem')) : undefined;
  const tls =
    keyFile && certFile ? { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') } : undefined;

  const simulators = Array.from(
    { length: count },
    (_, i) =>
      new ApplianceSimulator({
        username: values.user as string,
        password,
        tls,
        host: values.host,
        port: port === 0 ? 0 : port + i,
        jobDurationMs: integer('job-duration-ms', values['job-duration-ms'], undefined),
        sessionIdleMs: integer('session-idle-ms', values['session-idle-ms'], undefined),
        maxSessions: integer('max-sessions', values['max-sessions'], undefined),
        maxRecordedRequests: 1000, // a long-running process must not grow without bound
      }),
  );

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled(simulators.map((sim) => sim.stop())).then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  try {
    for (const sim of simulators) await sim.start();
  } catch (error) {
    await Promise.allSettled(simulators.map((sim) => sim.stop()));
    throw error;
  }
  const line = { urls: simulators.map((sim) => sim.url), tls: certFile ? { cert: resolve(certFile) } : null };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
