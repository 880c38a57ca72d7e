// Servers on one CPU, the load generator on another: a closed-loop generator that shares a core with the
// server it loads takes CPU time from it, so p99 and requests/s follow the generator as much as the server. With
// the servers confined to one core, two builds compared in paired rounds meet the same CPU, and the driver
// (autocannon, the paced generator, and whatever it spawns that is not a server: the liveness prober) has the
// other core to itself. Linux and util-linux's taskset only; without them everything shares every core, as before.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { pinServers } from './procs.mjs';

/** CPUs this process may run on (its cpuset): "0-1,4" → [0, 1, 4]. */
function allowedCpus() {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/**
 * Pins this process (every thread) to the second allowed CPU and every server spawned afterwards to the first.
 * Returns { servers, load } (CPU numbers), or { skipped: why } when pinning is off or impossible.
 */
export function pinCpus(env = process.env) {
  if (env.BENCH_PIN === 'off') return { skipped: 'BENCH_PIN=off' };
  if (spawnSync('taskset', ['--version']).error) return { skipped: 'taskset (util-linux) is not installed' };
  let cpus;
  try {
    cpus = allowedCpus();
  } catch (error) {
    return { skipped: `cannot read the allowed CPUs: ${error.message}` };
  }
  if (cpus.length < 2) return { skipped: `only ${cpus.length} CPU allowed: servers and load cannot be apart` };
  const [servers, load] = cpus;
  execFileSync('taskset', ['-a', '-p', '-c', String(load), String(process.pid)], { stdio: 'ignore' });
  pinServers(String(servers), cpus.join(','));
  return { servers, load };
}
