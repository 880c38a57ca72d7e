// Preloaded into a gateway (`node --import bench/lib/loop-monitor.mjs dist/main.js`, LOOP_MONITOR_FILE=<path>): a
// 2 ms interval timer notes every turn of the event loop that came late, and how much CPU the main thread used
// meanwhile (Linux: /proc/self/task/<pid>/schedstat, nanoseconds on CPU). A late timer with the thread on CPU the
// whole time is the event loop blocked; one with the thread off CPU is the machine busy elsewhere. Written to the
// file at exit: [[epochMs, lateByMs, onCpuMs], ...].
import { readFileSync, writeFileSync } from 'node:fs';

const TICK_MS = 2;
const NOTE_ABOVE_MS = 2;
const file = process.env.LOOP_MONITOR_FILE;
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const onCpuMs = () => Number(readFileSync(schedstat, 'utf8').split(' ')[0]) / 1e6;

if (file) {
  const late = [];
  let last = performance.now();
  let lastCpu = onCpuMs();
  setInterval(() => {
    const now = performance.now();
    const cpu = onCpuMs();
    const by = now - last - TICK_MS;
    if (by > NOTE_ABOVE_MS) late.push([Math.round(performance.timeOrigin + now), by, cpu - lastCpu]);
    last = now;
    lastCpu = cpu;
  }, TICK_MS).unref();
  process.on('exit', () => writeFileSync(file, JSON.stringify(late)));
}
