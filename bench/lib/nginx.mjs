// nginx (Debian's package) as the plain reverse proxy to compare with: found or installed, given a
// config in a temporary prefix, started in the foreground with one worker, stopped after.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { childPids } from './cpu.mjs';
import { spawnServer, tail } from './procs.mjs';

export const INSTALL_HINT = 'sudo apt-get update && sudo apt-get install -y nginx';

/**
 * The nginx binary, or undefined. Looks in PATH and in /usr/sbin (not in a normal user's PATH);
 * BENCH_NGINX=/path/to/nginx picks one, BENCH_NGINX=off leaves nginx out.
 */
export function findNginx() {
  if (process.env.BENCH_NGINX) return process.env.BENCH_NGINX === 'off' ? undefined : process.env.BENCH_NGINX;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir || '.', 'nginx');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * nginx's path, installing Debian's package first when `install` (BENCH_INSTALL=1) is set.
 * Returns { bin, version } or { skipped: reason }.
 */
export function ensureNginx({ install = false, log = console.log } = {}) {
  let bin = findNginx();
  if (!bin && install) {
    const asRoot = process.getuid?.() === 0;
    const run = (args) => {
      const [cmd, ...rest] = asRoot ? args : ['sudo', ...args];
      log(`bench: ${[cmd, ...rest].join(' ')}`);
      const result = spawnSync(cmd, rest, {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      return result.status === 0;
    };
    if (run(['apt-get', 'update']) && run(['apt-get', 'install', '-y', 'nginx'])) bin = findNginx();
  }
  if (!bin) {
    return {
      skipped: `nginx not installed: run \`${INSTALL_HINT}\` (or BENCH_INSTALL=1 npm run bench) to add the nginx rows`,
    };
  }
  // nginx -v prints to stderr
  const probe = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  const version = `${probe.stdout ?? ''}${probe.stderr ?? ''}`.trim();
  return { bin, version: version.replace(/^nginx version:\s*/, '') };
}

/**
 * Starts nginx proxying 127.0.0.1:<listenPort> to 127.0.0.1:<upstreamPort> with upstream keep-alive.
 * Returns the server handle plus workerPid.
 */
export async function startNginx({ bin, dir, listenPort, upstreamPort }) {
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'temp'), { recursive: true });
  fs.chmodSync(dir, 0o755); // the worker may run as an unprivileged user
  const conf = `# written by bench/lib/nginx.mjs
worker_processes 1;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  keepalive_requests 1000000;
  upstream appliance {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://appliance;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const confFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confFile, conf);
  const pidFile = path.join(dir, 'nginx.pid');
  let workers = [];
  const server = await spawnServer(
    'nginx',
    bin,
    ['-p', dir, '-c', confFile, '-e', `${dir}/logs/error.log`, '-g', `daemon off; pid ${pidFile};`],
    {
      logFile: path.join(dir, 'logs', 'stdout.log'),
      extraPids: () => workers,
    },
  );
  for (let i = 0; i < 200; i++) {
    if (server.exited())
      throw new Error(`nginx exited at start:\n${tail(path.join(dir, 'logs', 'error.log'))}\n${tail(server.logFile)}`);
    workers = childPids(server.pid);
    if (workers.length > 0) break;
    await sleep(25);
  }
  if (workers.length === 0) throw new Error('nginx started no worker within 5 s');
  server.workerPid = workers[0];
  server.url = `http://127.0.0.1:${listenPort}`;
  const stop = server.stop;
  server.stop = async () => {
    const result = await stop({ signal: 'SIGQUIT', graceMs: 5000 }); // graceful: workers finish and exit
    for (const pid of workers) {
      try {
        process.kill(pid, 0);
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone, as expected */
      }
    }
    server.forget();
    return result;
  };
  return server;
}
