/**
 * The typed client as a portal team installs it: packed with `npm pack` (its `prepare` script compiles dist/), the
 * tarball installed into a scratch project that has nothing else, then imported by Node and type-checked by tsc under
 * the strictest options with `moduleResolution: nodenext`, which reads the package's `exports` exactly as a
 * consumer's build does. Installing pulls openapi-fetch from the npm registry (or npm's cache).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../../support/temp-dir.js';

const CLIENT = resolve('clients/typescript');
const TSC = resolve('node_modules/typescript/bin/tsc');
const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** Uses the package the way the client's README does: any mistake here is a compile error in the scratch project. */
const CONSUMER = `
import { createGatewayClient, type Job, type ProblemCode, type ProblemDocument } from '@backup-gateway/client';

const client = createGatewayClient({ baseUrl: 'http://127.0.0.1:1', token: () => 'token' });
export async function run(): Promise<Job | ProblemCode> {
  const { data, error } = await client.POST('/appliances/{applianceId}/backups/schedules/{scheduleId}/run', {
    params: { path: { applianceId: 'vc-a', scheduleId: 'default' }, header: { 'Idempotency-Key': 'k-1' } },
    body: { comment: 'before the upgrade' },
  });
  if (error) return (error as ProblemDocument).code;
  return data.job;
}
console.log(typeof createGatewayClient);
`;

describe('the typed client as a package', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('client-package-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm pack holds the compiled client; installed from the tarball it imports and type-checks', () => {
    const packed = join(dir, 'packed');
    mkdirSync(packed);
    execFileSync('npm', ['pack', '--pack-destination', packed, ...NPM_QUIET], { cwd: CLIENT, stdio: 'pipe' });
    const [tarball] = readdirSync(packed);
    expect(tarball).toMatch(/^backup-gateway-client-.*\.tgz$/);

    const portal = join(dir, 'portal');
    mkdirSync(portal);
    writeFileSync(join(portal, 'package.json'), JSON.stringify({ name: 'portal', private: true, type: 'module' }));
    execFileSync('npm', ['install', join(packed, tarball), ...NPM_QUIET], { cwd: portal, stdio: 'pipe' });
    // Nothing but the package and its own dependencies: a missing file or dependency cannot be found elsewhere.
    expect(readdirSync(join(portal, 'node_modules')).sort()).toEqual(
      expect.arrayContaining(['@backup-gateway', 'openapi-fetch']),
    );

    writeFileSync(join(portal, 'consumer.ts'), CONSUMER);
    writeFileSync(
      join(portal, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          types: [],
          strict: true,
          exactOptionalPropertyTypes: true,
          outDir: 'out',
        },
        include: ['consumer.ts'],
      }),
    );
    execFileSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: portal, stdio: 'pipe' });
    const printed = execFileSync(process.execPath, ['out/consumer.js'], { cwd: portal, encoding: 'utf8' });
    expect(printed.trim()).toBe('function');
  }, 120_000);
});
