import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../../support/gateway-process.js';
import { tempDir } from '../../support/temp-dir.js';
import { waitFor } from '../../support/wait-for.js';

/** The demo as `npm run demo` runs it after its build (`exec node dist-tools/demo/demo.js`), on a port of ours. */
function runDemo(port: number) {
  // config/demo.yaml but with the audit trail in a temp dir, not in the shared working tree's data/.
  const config = join(tempDir('demo-'), 'demo.yaml');
  const dir = config.slice(0, -'/demo.yaml'.length);
  writeFileSync(
    config,
    readFileSync('config/demo.yaml', 'utf8').replace('data/demo-audit.db', join(dir, 'demo-audit.db')),
  );
  const child = spawn(process.execPath, ['dist-tools/demo/demo.js'], {
    env: { PATH: process.env.PATH, PORT: String(port), GATEWAY_CONFIG: config },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('npm run demo', () => {
  it('on a port someone else answers on: one line saying so and how to pick another, no banner, no stack', async () => {
    const port = await freePort();
    // Someone else's server, healthy on every path, /health/ready included.
    const other: Server = createServer((_request, response) => response.end('{"status":"ok"}'));
    await new Promise<void>((resolve) => other.listen(port, resolve));
    try {
      const demo = runDemo(port);
      const code = await Promise.race([
        demo.exited,
        new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 20_000)),
      ]);
      if (code === 'running') demo.child.kill('SIGKILL');
      expect(code).toBe(1);
      expect(demo.stderr()).not.toContain('Backup Gateway demo');
      expect(demo.stderr()).not.toMatch(/^\s+at /m);
      expect(demo.stderr().trim().split('\n')).toEqual([
        `Port ${port} is already in use by another program: start the demo on another port, e.g. PORT=${port + 1} npm run demo`,
      ]);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  }, 30_000);

  it('on a free port: the banner once its own gateway answers, and SIGTERM stops everything', async () => {
    const port = await freePort();
    const demo = runDemo(port);
    try {
      await waitFor(() => demo.stderr().includes('Backup Gateway demo'), 30_000);
      expect(demo.stderr()).toContain(`http://localhost:${port}/console/`);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      demo.child.kill('SIGTERM');
      expect(await demo.exited).toBe(0);
      expect(demo.stdout()).toContain('"msg":"stopped"');
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 60_000);
});
