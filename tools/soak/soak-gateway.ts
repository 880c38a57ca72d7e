/**
 * The gateway under soak: the built `dist/main.js` as an operator runs it (plus an inspector on loopback, for the heap
 * measurement), with a generated config (SQLite audit, the simulated appliances, the soak's identity provider and an
 * API key), on a loopback port; its RSS and open file descriptors read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { startFlags } from '../start-flags.js';
import { SoakInspector } from './soak-inspector.js';

export interface SoakGatewayOptions {
  dir: string;
  issuer: string;
  audience: string;
  jwksUri: string;
  apiKey: string;
  appliances: { id: string; url: string; username: string; password: string }[];
  /** How long the gateway waits for an appliance; hang faults end in 504 after it. */
  applianceTimeoutMs: number;
  /** A slow client gets 408 after this. */
  requestTimeoutMs: number;
}

export interface ProcessSample {
  rssMb: number;
  fds: number;
}

/** A sample after two full garbage collections, with the heap still in use. */
export interface SettledSample extends ProcessSample {
  heapMb: number;
}

export class SoakGateway {
  private child: ChildProcess | undefined;
  private inspector: SoakInspector | undefined;
  url = '';
  readonly logPath: string;

  constructor(private readonly options: SoakGatewayOptions) {
    this.logPath = join(options.dir, 'gateway.log');
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('the gateway is not running');
    return pid;
  }

  async start(): Promise<void> {
    const { dir, appliances } = this.options;
    const configPath = join(dir, 'gateway.yaml');
    // JSON is YAML: no YAML writer needed. Passwords come in through ${NAME}, as in production.
    writeFileSync(configPath, JSON.stringify(this.config(), null, 2));
    const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_CONFIG: configPath, PORT: String(await freePort()) };
    appliances.forEach((appliance, i) => {
      env[`SOAK_APPLIANCE_${i}_PASSWORD`] = appliance.password;
    });
    const log = createWriteStream(this.logPath);
    const child = spawn(process.execPath, [...startFlags(), '--inspect=127.0.0.1:0', resolve('dist/main.js')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const inspectorUrl = new Promise<string>((found) => {
      let text = '';
      const listen = (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const url = /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
        if (url) {
          child.stderr?.off('data', listen);
          found(url);
        }
      };
      child.stderr?.on('data', listen);
    });
    this.child = child;
    this.url = `http://127.0.0.1:${env.PORT}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}; see ${this.logPath}`);
      const ready = await fetch(`${this.url}/health/ready`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) {
        this.inspector = await SoakInspector.connect(await inspectorUrl);
        return;
      }
      await new Promise((done) => setTimeout(done, 200));
    }
    throw new Error(`the gateway was not ready within 30 s; see ${this.logPath}`);
  }

  /** RSS and open file descriptors, from /proc (Linux). */
  sample(): ProcessSample {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
    return { rssMb: Math.round(rssKb / 102.4) / 10, fds: readdirSync(`/proc/${this.pid}/fd`).length };
  }

  /** After two full collections: RSS, file descriptors, and the heap still in use. */
  async settled(): Promise<SettledSample> {
    if (!this.inspector) throw new Error('the gateway is not running');
    const heapMb = await this.inspector.heapUsedAfterGcMb();
    return { ...this.sample(), heapMb };
  }

  /** SIGTERM, as an orchestrator stops it; resolves with the exit code (null: it had to be killed). */
  async stop(graceMs = 20_000): Promise<number | null> {
    this.inspector?.close();
    this.inspector = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  /** The config file's contents. */
  private config(): Record<string, unknown> {
    const { options } = this;
    return {
      host: '127.0.0.1',
      requestTimeoutMs: options.requestTimeoutMs,
      headersTimeoutMs: Math.min(options.requestTimeoutMs, 10_000),
      shutdownGraceMs: 5000,
      logging: { level: 'warn' },
      auth: {
        jwt: { issuer: options.issuer, audience: options.audience, jwksUri: options.jwksUri },
        apiKeys: [
          {
            id: 'soak-scheduler',
            sha256: createHash('sha256').update(options.apiKey).digest('hex'),
            scopes: ['backups:run', 'backups:read'],
          },
        ],
      },
      appliances: options.appliances.map((appliance, i) => ({
        id: appliance.id,
        url: appliance.url,
        username: appliance.username,
        password: `\${SOAK_APPLIANCE_${i}_PASSWORD}`,
        timeoutMs: options.applianceTimeoutMs,
        tags: ['soak'],
      })),
      defaultAppliance: options.appliances[0]?.id,
      breaker: { consecutiveFailures: 3, halfOpenAfterMs: 2000 },
      jobs: { pollIntervalMs: 500 },
      fleet: { statusMaxAgeMs: 2000, probeTimeoutMs: 1000 },
      audit: { store: 'sqlite', sqlite: { path: join(options.dir, 'audit.db') } },
      // Generous enough for the workers' valid traffic; the flood caller still meets its in-flight bound.
      rateLimit: { runsPerMinute: 600, readsPerMinute: 100_000 },
      metrics: { enabled: false },
      console: { enabled: false },
    };
  }
}

/** A port nothing listens on right now (the gateway takes its port from PORT). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
