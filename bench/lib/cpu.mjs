// CPU time and memory of a process from /proc (Linux): utime+stime cover every thread of the
// process (JIT, GC and libuv threads included), in clock ticks.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let clockTicks;

/** USER_HZ, almost always 100. */
export function clockTicksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User and system CPU microseconds in a /proc stat file (a process's or one thread's), or undefined if it is gone. */
function statMicros(file) {
  let stat;
  try {
    stat = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const perTick = 1e6 / clockTicksPerSecond();
  return { user: Number(fields[11]) * perTick, system: Number(fields[12]) * perTick }; // fields 14 and 15
}

/** CPU microseconds (user + system) a process has used so far, or undefined if it is gone. */
export function cpuMicros(pid) {
  const times = statMicros(`/proc/${pid}/stat`);
  return times && times.user + times.system;
}

/** User and system CPU microseconds of each thread of a process so far, by thread id (the main thread's is `pid`). */
export function threadCpuMicros(pid) {
  const threads = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const times = statMicros(`/proc/${pid}/task/${tid}/stat`); // undefined: the thread ended meanwhile
    if (times) threads.set(tid, times);
  }
  return threads;
}

/** Resident set size in bytes (VmRSS), or undefined. */
export function rssBytes(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Direct children of a process (Linux 3.5+: /proc/<pid>/task/<pid>/children). */
export function childPids(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Pids of every process whose command name (/proc/<pid>/comm) is `name`: e.g. 'postgres' gives the PostgreSQL
 * server's postmaster, its background processes and every backend.
 */
export function pidsNamed(name) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

/** CPU µs of each process of a group, by pid. */
function groupMicros(listPids) {
  const micros = new Map();
  for (const pid of listPids()) {
    const used = cpuMicros(pid);
    if (used !== undefined) micros.set(pid, used);
  }
  return micros;
}

/**
 * Samples several processes at once: const mark = cpuMark(pids); ...; cpuSince(mark) → { [name]: µs }.
 * `pids` is { name: pid }, or { name: () => [pid, ...] } for a group of processes that may come and go (a
 * database server's backends): the group's CPU is that of the processes alive at the end, each counted from the
 * mark or, if it started later, from its start.
 */
export function cpuMark(pids) {
  const at = {};
  for (const [name, pid] of Object.entries(pids)) {
    at[name] = typeof pid === 'function' ? { group: pid, micros: groupMicros(pid) } : { pid, micros: cpuMicros(pid) };
  }
  return { at, machine: machineBusyMicros(), self: process.cpuUsage(), wall: performance.now() };
}

/**
 * CPU µs used since the mark, per named process. `otherCores` estimates the load of everything
 * else on the machine over the window (machine busy time minus ours: these processes and the
 * driver), in cores: a shared machine's noise, reported beside the results.
 */
export function cpuSince(mark) {
  const used = {};
  let ours = 0;
  for (const [name, { pid, group, micros }] of Object.entries(mark.at)) {
    if (group) {
      used[name] = 0;
      for (const [member, now] of groupMicros(group)) used[name] += now - (micros.get(member) ?? 0);
    } else {
      const now = cpuMicros(pid);
      used[name] = now === undefined || micros === undefined ? undefined : now - micros;
    }
    ours += used[name] ?? 0;
  }
  const self = process.cpuUsage(mark.self);
  const machine = machineBusyMicros();
  const wallMicros = (performance.now() - mark.wall) * 1000;
  const other =
    machine === undefined || mark.machine === undefined
      ? undefined
      : machine - mark.machine - ours - self.user - self.system;
  return { used, otherCores: other === undefined ? undefined : Math.max(0, other) / wallMicros };
}

/**
 * The load of everything on the machine but this driver, in cores, over one second after another until it is at
 * most `cores` or `maxSeconds` have gone by: the last second's figure. The servers a scenario left running count as
 * load: their GC and timers after a load are what a start-up measured next to them would share its core with.
 */
export async function quietMachine({ cores, maxSeconds }) {
  for (let waited = 1; ; waited++) {
    const mark = cpuMark({});
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const busy = cpuSince(mark).otherCores ?? 0;
    if (busy <= cores || waited >= maxSeconds) return busy;
  }
}

/** CPU microseconds the whole machine has been busy (all cores: user, nice, system, irq, softirq, steal). */
export function machineBusyMicros() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user + nice + system + irq + softirq + (steal || 0)) * 1e6) / clockTicksPerSecond();
  } catch {
    return undefined;
  }
}

/** CPU of `pid` over `ms`, in cores (1 = one core busy the whole time). */
export async function coresOver(pid, ms) {
  const before = cpuMicros(pid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (cpuMicros(pid) - before) / ((performance.now() - started) * 1000);
}
