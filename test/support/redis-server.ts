/**
 * A throwaway Redis (Debian's redis-server, which .ci/run installs) on a free loopback port, without
 * persistence, that a test can stop and start again, or stall, to see the gateway degrade and recover.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { freePort } from './gateway-process.js';

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port, so that clients reconnect. */
  start(): Promise<void>;
  /** SIGSTOP: its connections stay open and nothing answers, as with a Redis swapping or behind a stuck network. */
  stall(): void;
  /** SIGCONT: it answers again, the commands it was sent meanwhile first. */
  resume(): void;
}

export function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/** `describe` when redis-server is installed; in CI (CI=true) its absence is a failure, not a skip. */
export const describeRedis: jest.Describe =
  redisAvailable() || process.env.CI ? describe : (describe.skip as unknown as jest.Describe);

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child?.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGCONT');
      running.kill('SIGTERM');
      await exited;
      child = undefined;
    },
    stall: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
