/**
 * The Dockerfile, read statically (no Docker engine runs here): what each image contains, who it runs as, how it is
 * stopped and probed, and that the build context has what the COPY instructions need and nothing secret.
 * test/process/deploy/production-tree.prod-spec.ts starts the production tree the gateway stage ships.
 */
import { existsSync, readFileSync } from 'node:fs';
import { validate } from 'dockerfile-utils';
import { lt, major, valid } from 'semver';
import { startFlags } from '../../../tools/start-flags.js';
import {
  buildNodeVersion,
  type Instruction,
  imageNodeVersion,
  readStages,
  type Stage,
  stage,
  stageEnv,
} from '../../support/dockerfile.js';
import { inBuildContext } from '../../support/dockerignore.js';

interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

function copies(of: Stage): Copy[] {
  return of.instructions
    .filter((instruction) => instruction.keyword === 'COPY')
    .map((instruction) => {
      const words = instruction.args.split(/\s+/);
      const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((word) => !word.startsWith('--'));
      return { from, sources: paths.slice(0, -1), destination: paths.at(-1) as string };
    });
}

const runs = (of: Stage) => of.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const only = (of: Stage, keyword: string): Instruction | undefined =>
  of.instructions.filter((i) => i.keyword === keyword).at(-1);

describe('Dockerfile', () => {
  it("has no problem the Dockerfile language server reports (dockerfile-utils: syntax, flags, instructions' arguments)", () => {
    const diagnostics = validate(readFileSync('Dockerfile', 'utf8'));
    expect(diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('builds the gateway by default (last stage) on a supported Node LTS: an even major, 22 or later', () => {
    expect(readStages().at(-1)?.name).toBe('gateway');
    const node = major(imageNodeVersion());
    expect(node % 2).toBe(0);
    expect(node).toBeGreaterThanOrEqual(22);
  });

  it('gateway image: production node_modules, dist/ and package.json only; no sources, tools or compilers', () => {
    const gateway = stage('gateway');
    expect(gateway.image).toMatch(/^node:/); // not FROM a stage that has g++
    const copied = copies(gateway);
    const sources = copied.flatMap((copy) => copy.sources).sort();
    expect(sources).toEqual(['/app/dist', '/app/node_modules', 'package.json']);

    const modules = copied.find((copy) => copy.sources.includes('/app/node_modules'));
    expect(runs(stage(modules?.from as string)).some((run) => /npm ci\b.*--omit=dev/.test(run))).toBe(true);
    expect(copied.find((copy) => copy.sources.includes('/app/dist'))?.from).toBe('build');
    expect(runs(gateway).some((run) => /apt-get|npm (ci|install)/.test(run))).toBe(false);
  });

  it('native modules are built in a build stage that has the compilers', () => {
    const deps = stage('production-dependencies');
    const toolchain = stage(deps.image);
    expect(runs(toolchain).join(' ')).toMatch(/apt-get install .*\bg\+\+/);
    expect(runs(deps).join(' ')).toMatch(/npm ci --omit=dev/);
  });

  it("compiles native modules for the gateway's Node: the build stages run its major (one ABI)", () => {
    const toolchain = stage(stage('production-dependencies').image);
    expect(toolchain.image).toMatch(/^node:\d/);
    expect(buildNodeVersion().split('.')[0]).toBe(String(major(imageNodeVersion())));
  });

  it('compiles better-sqlite3 12 against the headers of a Node 24 before 24.19, whose node::ObjectWrap cannot abort', () => {
    // From 24.19 on, node::ObjectWrap's destructor (compiled into the addon) aborts the process when a statement is
    // garbage-collected outside a JavaScript context (the Dockerfile says more). Other majors, or better-sqlite3 13
    // (node-addon-api, no node::ObjectWrap), need this reviewed, not carried over.
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    expect(major(lock.packages['node_modules/better-sqlite3'].version)).toBe(12);
    // Compiled, not downloaded: a prebuilt binary would bring headers of its own.
    expect(stageEnv('toolchain').npm_config_build_from_source).toBe('better-sqlite3');
    expect(valid(buildNodeVersion())).not.toBeNull(); // an exact release: `24` would float past 24.18
    expect(major(buildNodeVersion())).toBe(24);
    expect(lt(buildNodeVersion(), '24.19.0')).toBe(true);
  });

  it('runs as a numeric non-root user that owns data/, the only directory it writes', () => {
    const gateway = stage('gateway');
    const user = only(gateway, 'USER')?.args ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/); // numeric, or Kubernetes cannot check runAsNonRoot
    const uid = user.split(':')[0];
    expect(uid).not.toBe('0');
    expect(runs(gateway).some((run) => /mkdir -p data\b/.test(run) && run.includes(`chown ${uid}`))).toBe(true);
    expect(only(gateway, 'WORKDIR')?.args).toBe('/app'); // data/ resolves to /app/data, the volume's mount point
  });

  it('node is PID 1 and gets SIGTERM (exec form), and HEALTHCHECK probes /health/live', () => {
    const gateway = stage('gateway');
    const cmd = JSON.parse(only(gateway, 'CMD')?.args ?? '""') as string[];
    expect(cmd[0]).toBe('node');
    expect(cmd.at(-1)).toBe('dist/main.js');
    // The V8 flags npm start uses (measured in bench/README.md): the image runs the gateway as the benchmark did.
    expect(cmd.slice(1, -1)).toEqual(startFlags());
    expect(startFlags()).toEqual(expect.arrayContaining([expect.stringMatching(/^--max-old-space-size=\d+$/)]));
    const healthcheck = only(gateway, 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toMatch(/CMD \[/);
    expect(healthcheck).toContain('/health/live');
    // The probe's port is the one listened on: PORT overrides the config file's port.
    expect(gateway.instructions.some((i) => i.keyword === 'ENV' && /^PORT=\d+$/.test(i.args))).toBe(true);
  });

  it('simulator image (target `simulator`): the built simulator alone, run by a non-root user', () => {
    const simulator = stage('simulator');
    const sources = copies(simulator).flatMap((copy) => copy.sources);
    expect(sources).toEqual(['/app/package.json', '/app/dist-tools/simulator']);
    expect(JSON.parse(only(simulator, 'ENTRYPOINT')?.args ?? '""')).toEqual(['node', 'dist-tools/simulator/cli.js']);
    expect(only(simulator, 'USER')?.args).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it('every file copied from the build context exists and passes .dockerignore', () => {
    const fromContext = readStages().flatMap((s) => copies(s).filter((copy) => copy.from === undefined));
    const paths = fromContext.flatMap((copy) => copy.sources);
    expect(paths.filter((path) => !existsSync(path) || !inBuildContext(path))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['src', 'tools', 'package-lock.json']));
  });

  it('.dockerignore keeps out dependencies, build output, git, data, secrets, tests and benchmarks', () => {
    const kept = ['node_modules', 'dist', 'dist-tools', '.git', 'data/audit.db', '.env', 'test/fixtures', 'bench'];
    expect(kept.filter((path) => inBuildContext(path))).toEqual([]);
    expect(inBuildContext('src/main.ts')).toBe(true);
  });
});
