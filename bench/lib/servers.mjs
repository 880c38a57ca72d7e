// Starting the benchmark's servers, each in its own child process: the fast upstream, the Node
// floor, the gateway (`node dist/main.js`, as an operator runs it), the simulator fleet and a Redis.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { rssBytes } from './cpu.mjs';
import { freePort, spawnServer, tail, waitHttpReady } from './procs.mjs';

export const APPLIANCE_USER = 'bench@vsphere.local';
export const APPLIANCE_PASSWORD = 'bench-password-not-a-secret';
export const APPLIANCE_ID = 'vc-bench';

const node = process.execPath;

/**
 * Node flags of the product's own start command (`"start": "node --flag ... dist/main.js"` in
 * package.json), so that the benchmark runs the gateway as `npm start` would; plus any in
 * BENCH_GATEWAY_NODE_FLAGS (to try V8 settings without touching package.json).
 */
export function gatewayNodeFlags(root) {
  let flags = [];
  try {
    const start = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts?.start ?? '';
    const match = /(?:^|\s)node\s+(.*?)\s*dist\/main\.js/.exec(start);
    if (match) flags = match[1].split(/\s+/).filter((f) => f.startsWith('--'));
  } catch {
    /* no package.json: no flags */
  }
  return [...flags, ...(process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
}

export async function startUpstream(ctx, name = 'upstream') {
  const server = await spawnServer(name, node, [path.join(ctx.benchDir, 'fast-upstream.mjs')], {
    env: { UPSTREAM_USER: APPLIANCE_USER, UPSTREAM_PASSWORD: APPLIANCE_PASSWORD },
    logFile: path.join(ctx.tmp, `${name}.log`),
    readyLine: true,
  });
  server.url = `http://127.0.0.1:${server.info.port}`;
  /** { logins, requests, sessions } */
  server.stats = async () => (await fetch(`${server.url}/__bench/stats`)).json();
  server.expireSessions = async () => {
    await (await fetch(`${server.url}/__bench/expire`, { method: 'POST' })).arrayBuffer();
  };
  /** A session token for requests sent straight to the upstream (direct and nginx rows). */
  server.login = async () => {
    const response = await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${APPLIANCE_USER}:${APPLIANCE_PASSWORD}`).toString('base64')}` },
    });
    if (response.status !== 201) throw new Error(`upstream login: ${response.status}`);
    return response.json();
  };
  return server;
}

export async function startFloor(ctx, upstream, { nodeArgs = [] } = {}) {
  const server = await spawnServer('floor', node, [...nodeArgs, path.join(ctx.benchDir, 'node-floor.mjs')], {
    env: {
      UPSTREAM_URL: upstream.url,
      JWKS_URI: ctx.idp.jwksUri,
      ISSUER: ctx.idp.issuer,
      AUDIENCE: ctx.idp.audience,
      APPLIANCE_ID,
      UPSTREAM_USER: APPLIANCE_USER,
      UPSTREAM_PASSWORD: APPLIANCE_PASSWORD,
    },
    logFile: path.join(ctx.tmp, 'floor.log'),
    readyLine: true,
  });
  server.url = `http://127.0.0.1:${server.info.port}`;
  return server;
}

/**
 * Top-level config keys the build at `root` declares (the `GatewayConfig.prototype, "key"` decorations tsc emits in
 * its compiled config class), or undefined when that file is missing or unreadable.
 */
function declaredConfigKeys(root) {
  try {
    const js = fs.readFileSync(path.join(root, 'dist', 'config', 'gateway-config.js'), 'utf8');
    const keys = new Set(Array.from(js.matchAll(/GatewayConfig\.prototype, "(\w+)"/g), (m) => m[1]));
    return keys.size > 0 ? keys : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The gateway as production runs it: `node dist/main.js`, GATEWAY_CONFIG naming a generated
 * config, PORT. `appliances`: [{ id, url, tags? }] (default: one, the fast upstream; tags default to ['bench']); `jwt`: keys added to `auth.jwt`
 * (e.g. { verifiedTokenCacheSize: 0 }); `extraConfig`: top-level keys replacing the defaults below; `env`: added to
 * its environment; `root`: the checkout whose dist/ runs (default: this one); `entry`: the script under it (default
 * dist/main.js, the bundle; dist/main-unbundled.js is tsc's module-by-module build of it); `readyPath`: what must
 * answer 200 before it counts as started (default /health/ready; /health/live for a gateway expected not to be ready
 * yet). Returns the server
 * with url, readyMs (spawn to first 200 on /health/ready), rssAfterStart (bytes) and droppedConfigKeys.
 */
export async function startGateway(
  ctx,
  {
    name = 'gateway',
    level = 'warn',
    appliances,
    nodeArgs = [],
    jwt = {},
    extraConfig = {},
    env = {},
    root = ctx.root,
    entry = 'dist/main.js',
    readyPath = '/health/ready',
    everyCpu = false,
  } = {},
) {
  const port = await freePort();
  const list = appliances ?? [{ id: APPLIANCE_ID, url: ctx.upstream.url }];
  const config = {
    host: '127.0.0.1',
    auth: {
      jwt: {
        issuer: ctx.idp.issuer,
        audience: ctx.idp.audience,
        jwksUri: ctx.idp.jwksUri,
        algorithms: ['RS256'],
        clockToleranceSeconds: 30,
        ...jwt,
      },
    },
    appliances: list.map((a) => ({
      id: a.id,
      name: `Bench ${a.id}`,
      url: a.url,
      username: '${BENCH_APPLIANCE_USER}',
      password: '${BENCH_APPLIANCE_PASSWORD}',
      timeoutMs: 10_000,
      tags: a.tags ?? ['bench'],
    })),
    defaultAppliance: list[0].id,
    shutdownGraceMs: 3000,
    logging: { level },
    // The budget's hot path is measured with the audit trail off; scenarios/audit.mjs turns it on (in the temp
    // dir, never the repository's data/audit.db).
    audit: { store: 'off' },
    // One token stands in for every caller of the load generator: the per-caller and per-connection bounds still
    // count each request, but must not refuse the load the benchmark is made of.
    limits: {
      maxInFlightPerCaller: 10_000,
      maxStreamsPerCaller: 10_000,
      maxInFlightPerConnection: 1000,
      // 50 connections of runs at one appliance (no vCenter takes that, but the gateway's path is what is measured).
      upstreamConnections: 128,
      reservedRunConnections: 64,
    },
    // Rate limiting is on, as by default, with limits no load of the benchmark reaches: its bookkeeping is part of
    // every request measured, a refusal never is (scenarios/rate-limit.mjs measures its cost against it off).
    rateLimit: { runsPerMinute: 100_000_000, readsPerMinute: 100_000_000 },
    ...extraConfig,
  };
  // An earlier build (BENCH_BASELINE_ROOT, BENCH_PROJECT_ROOT) refuses every key it does not know: the sections it
  // lacks are features it did not have yet, so it gets the rest and its own defaults, and the run says what was left out.
  const declared = declaredConfigKeys(root);
  const droppedConfigKeys = declared ? Object.keys(config).filter((key) => !declared.has(key)) : [];
  for (const key of droppedConfigKeys) delete config[key];
  const configFile = path.join(ctx.tmp, `${name}.yaml`);
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  const flags = gatewayNodeFlags(root);
  const server = await spawnServer(name, node, [...flags, ...nodeArgs, entry], {
    cwd: root,
    env: {
      GATEWAY_CONFIG: configFile,
      PORT: String(port),
      BENCH_APPLIANCE_USER: APPLIANCE_USER,
      BENCH_APPLIANCE_PASSWORD: APPLIANCE_PASSWORD,
      NODE_ENV: 'production',
      ...env,
    },
    logFile: path.join(ctx.tmp, `${name}.log`),
    everyCpu,
  });
  server.url = `http://127.0.0.1:${port}`;
  server.readyMs = await waitHttpReady(server, `${server.url}${readyPath}`, { timeoutMs: 20_000, intervalMs: 5 });
  server.rssAfterStart = rssBytes(server.pid);
  server.level = level;
  server.nodeFlags = flags;
  server.droppedConfigKeys = droppedConfigKeys;
  return server;
}

/** `count` ApplianceSimulators in one child process (bench/sim-fleet.mjs). */
export async function startSimulatorFleet(
  ctx,
  { count = 10, latencyMs = 0, jobDurationMs = 3000, targets = 0, name = 'simulators' } = {},
) {
  const server = await spawnServer(name, node, [path.join(ctx.benchDir, 'sim-fleet.mjs')], {
    cwd: ctx.root,
    env: {
      PROJECT_ROOT: ctx.root,
      SIM_COUNT: String(count),
      SIM_USER: APPLIANCE_USER,
      SIM_PASSWORD: APPLIANCE_PASSWORD,
      SIM_LATENCY_MS: String(latencyMs),
      SIM_JOB_DURATION_MS: String(jobDurationMs),
      SIM_TARGETS: String(targets),
    },
    logFile: path.join(ctx.tmp, `${name}.log`),
    readyLine: true,
  });
  server.urls = server.info.urls;
  const control = server.info.control;
  server.stats = async () => (await fetch(`${control}/stats`)).json();
  const post = async (what) => (await fetch(`${control}/${what}`, { method: 'POST' })).json();
  server.expireSessions = () => post('expire');
  server.resetCounters = () => post('reset');
  server.finishJobs = () => post('finish');
  return server;
}

/**
 * A simulator fleet (startSimulatorFleet: `count`, `latencyMs`, `jobDurationMs`) and a gateway named `name` in front
 * of every simulator (appliances vc-01, vc-02, ..., tagged `bench`, plus `extraConfig`; `env` added to its
 * environment, for the `${…}` references of `extraConfig`), for the time of
 * `work({ sims, gateway, appliances })`; both are stopped afterwards, however `work` ends. Returns what `work` returns.
 */
export async function withSimulatedFleet(ctx, { name, extraConfig, env, nodeArgs, ...fleet }, work) {
  const sims = await startSimulatorFleet(ctx, { ...fleet, name: `${name}-simulators` });
  let gateway;
  try {
    const appliances = sims.urls.map((url, i) => ({ id: `vc-${String(i + 1).padStart(2, '0')}`, url }));
    // A function: the config is made once the simulators hold their ports (a port it picks cannot be one of theirs).
    const config = typeof extraConfig === 'function' ? await extraConfig() : extraConfig;
    gateway = await startGateway(ctx, { name, appliances, extraConfig: config, env, nodeArgs });
    return await work({ sims, gateway, appliances });
  } finally {
    await gateway?.stop({ graceMs: 10_000 });
    await sims.stop();
  }
}

/**
 * A throwaway redis-server (no persistence) on a free loopback port, or { skipped: why } when `redis-server` is not
 * installed or does not start. Returns the server with url.
 */
export async function startRedis(ctx, name = 'redis') {
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0)
    return { skipped: `redis-server is not installed (${version.error?.code ?? `exit ${version.status}`})` };
  const port = await freePort();
  const server = await spawnServer(
    name,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { logFile: path.join(ctx.tmp, `${name}.log`) },
  );
  server.url = `redis://127.0.0.1:${port}`;
  server.version = /v=(\S+)/.exec(version.stdout)?.[1];
  const deadline = performance.now() + 10_000;
  while (!(await answersPing(port))) {
    if (server.exited() || performance.now() > deadline) {
      await server.stop();
      return { skipped: `redis-server did not start:\n${tail(server.logFile, 5)}` };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return server;
}

function answersPing(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(reply.startsWith('+PONG')));
    socket.on('error', () => undefined);
  });
}
