// Child processes for the benchmark: spawn, wait until ready, stop; and a registry that kills
// every child still alive when the driver exits, however it exits (normal end, error, signal).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const children = new Set();
let handlersInstalled = false;
// Set by lib/pin.mjs (pinServers): the CPU list every server spawned afterwards is confined to, and every CPU this
// process was allowed before it pinned itself (which its children would otherwise inherit: the load's core only).
let serverCpus;
let everyAllowedCpu;

/** Every server spawned from now on runs on `cpus` only (a taskset CPU list), or anywhere when undefined. */
export function pinServers(cpus, allCpus) {
  serverCpus = cpus;
  everyAllowedCpu = allCpus;
}

/** Kills every child we started that is still running (synchronous: safe inside process.on('exit')). */
export function killAllChildren(signal = 'SIGKILL') {
  for (const entry of children) {
    try {
      if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill(signal);
    } catch {
      /* already gone */
    }
    for (const pid of entry.extraPids?.() ?? []) {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
  }
}

/**
 * Once per driver: on exit kill every child; SIGINT/SIGTERM end the driver (and so the children);
 * a hard deadline bounds the whole run.
 */
export function installExitHandlers({ deadlineMs }) {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => killAllChildren('SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every child process\n`);
      killAllChildren('SIGTERM');
      process.exit(130);
    });
  }
  if (deadlineMs) {
    setTimeout(() => {
      process.stderr.write(`\nbench: ran past the ${Math.round(deadlineMs / 1000)} s deadline, giving up\n`);
      process.exit(3);
    }, deadlineMs).unref();
  }
}

/** A free loopback port (bound and released: a tiny race, acceptable on a benchmark machine). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns a server process. Its stdout and stderr go to `logFile`; with `readyLine`, the process
 * must print one JSON line on stdout when listening (our own bench servers do), which is returned as `info`.
 * Returns { name, pid, child, info, spawnedAt, logFile, stop() }.
 */
export async function spawnServer(
  name,
  command,
  args,
  { env = {}, cwd, logFile, readyLine = false, readyTimeoutMs = 20_000, extraPids, everyCpu = false } = {},
) {
  const out = fs.openSync(logFile, 'a');
  const spawnedAt = performance.now();
  // taskset execs the server in its own process: child.pid stays the server's pid (its CPU is read from /proc).
  // everyCpu: a server whose load is a request or two at a time, measured on the whole machine (lib/pin.mjs says why
  // the others are not).
  const cpus = everyCpu ? everyAllowedCpu : serverCpus;
  const [file, argv] = cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', readyLine ? 'pipe' : out, out],
  });
  fs.closeSync(out);
  const entry = { child, extraPids };
  children.add(entry);
  child.once('exit', () => {
    // nginx's worker may outlive a killed master for a moment; keep the entry while it has extra pids
    if (!extraPids) children.delete(entry);
  });
  const server = {
    name,
    pid: child.pid,
    child,
    info: undefined,
    spawnedAt,
    logFile,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: (options) => stopProcess(server, options),
    forget: () => children.delete(entry),
  };
  if (readyLine) {
    server.info = await firstJsonLine(child, name, readyTimeoutMs, logFile);
    // keep draining stdout into the log so the child never blocks on a full pipe
    child.stdout.on('data', (chunk) => fs.appendFileSync(logFile, chunk));
  }
  return server;
}

function firstJsonLine(child, name, timeoutMs, logFile) {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => fail(new Error(`${name}: no ready line within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      reject(new Error(`${error.message}\n--- ${logFile}:\n${tail(logFile)}`));
    };
    const onExit = (code, signal) => fail(new Error(`${name} exited (${code ?? signal}) before it was ready`));
    const onData = (chunk) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      try {
        resolve(JSON.parse(buffer.slice(0, newline)));
      } catch {
        reject(new Error(`${name}: ready line is not JSON: ${buffer.slice(0, 200)}`));
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The last lines of a log file, for error messages. */
export function tail(file, lines = 25) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `url` until it answers 200; returns milliseconds since the server was spawned.
 * Bounded by timeoutMs; fails early if the process exits.
 */
export async function waitHttpReady(server, url, { timeoutMs = 20_000, intervalMs = 5 } = {}) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (server.exited())
      throw new Error(`${server.name} exited before it was ready\n--- ${server.logFile}:\n${tail(server.logFile)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return performance.now() - server.spawnedAt;
    } catch {
      /* not listening yet */
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `${server.name}: ${url} not ready within ${timeoutMs} ms\n--- ${server.logFile}:\n${tail(server.logFile)}`,
  );
}

/** SIGTERM (or `signal`), then SIGKILL after graceMs. Resolves with the exit code or signal. */
export async function stopProcess(server, { signal = 'SIGTERM', graceMs = 5000 } = {}) {
  const { child } = server;
  if (server.exited()) return child.exitCode ?? child.signalCode;
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)));
  child.kill(signal);
  const result = await Promise.race([exited, sleep(graceMs).then(() => 'timeout')]);
  if (result !== 'timeout') return result;
  child.kill('SIGKILL');
  return exited;
}
