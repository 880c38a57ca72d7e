/**
 * Runs the built gateway as operators do (`node dist/main.js`, GATEWAY_CONFIG, PORT) and captures its output.
 * `npm test` builds first (pretest), so dist/ matches the sources.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './temp-dir.js';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

// A test that fails or times out before stopping its gateway must not leave it running after Jest exits.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Writes a config file in a fresh temp dir; the audit trail lives there too unless the document says otherwise. */
export function writeConfig(document: Record<string, unknown>): string {
  const dir = tempDir('gw-proc-');
  const path = join(dir, 'gateway.yaml');
  const withAudit = {
    audit: { sqlite: { path: join(dir, 'audit.db') } },
    // Tests send bursts with one token (40 runs at once); the tests of these limits set their own.
    rateLimit: { runsPerMinute: 100_000, readsPerMinute: 100_000 },
    limits: { maxInFlightPerCaller: 1000 },
    // No background reads of the appliances' job lists: suites count what reaches the appliances.
    freshness: { refreshMinutes: 0 },
    ...document,
    // Nor background health probes (a suite that sets `fleet` keeps its own keys; probes stay off unless it asks).
    fleet: { backgroundProbes: false, ...(document.fleet as object | undefined) },
  };
  writeFileSync(path, JSON.stringify(withAudit, null, 2)); // JSON is YAML
  return path;
}

export async function spawnGateway(
  configPath: string,
  env: NodeJS.ProcessEnv = {},
  waitReady = true,
): Promise<GatewayProcess> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH, GATEWAY_CONFIG: configPath, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  if (waitReady) {
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`gateway exited early: ${output}`);
      try {
        if ((await fetch(`${url}/health/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { child, url, output: () => output, exited };
}
