/**
 * What goes wrong at the appliances during the soak, one episode at a time: each episode picks a fault from the
 * simulator's catalogue for one appliance (slow, hung, reset, 5xx with a vAPI or an HTML body, the service account
 * refused, the session limit reached, every session expired, the appliance down and back), then clears it.
 */
import type { ApplianceSimulator, Fault } from '../simulator/appliance-simulator.js';

type Episode = { name: string; apply: (sim: ApplianceSimulator) => Promise<void> | void };

const RUNS = '?action=run';
const JOBS = '/backup/job';

const EPISODES: Episode[] = [
  { name: 'latency', apply: (sim) => set(sim, { kind: 'latency', ms: 300 }) },
  { name: 'hang (runs)', apply: (sim) => set(sim, { kind: 'hang', path: RUNS, times: 3 }) },
  { name: 'hang (reads)', apply: (sim) => set(sim, { kind: 'hang', path: JOBS, times: 3 }) },
  { name: 'reset (reads)', apply: (sim) => set(sim, { kind: 'reset', path: JOBS, times: 5 }) },
  {
    name: 'reset after a run started',
    apply: (sim) => set(sim, { kind: 'reset', path: RUNS, phase: 'after', times: 2 }),
  },
  { name: 'status 500', apply: (sim) => set(sim, { kind: 'status', status: 500, times: 5 }) },
  {
    name: 'status 502 HTML',
    apply: (sim) =>
      set(sim, {
        kind: 'status',
        status: 502,
        rawBody: '<html><body><h1>502 Bad Gateway</h1></body></html>',
        contentType: 'text/html',
        times: 5,
      }),
  },
  {
    name: 'error type named like an Object property',
    apply: (sim) =>
      set(sim, { kind: 'status', status: 400, rawBody: '{"error_type":"__proto__","messages":[]}', times: 3 }),
  },
  { name: 'malformed answers', apply: (sim) => set(sim, { kind: 'malformed', path: JOBS, times: 3 }) },
  {
    name: 'session limit',
    apply: (sim) => {
      set(sim, { kind: 'sessionLimit', times: 2 });
      sim.expireAllSessions();
    },
  },
  { name: 'sessions expired', apply: (sim) => sim.expireAllSessions() },
  {
    name: 'down and back',
    apply: async (sim) => {
      sim.faults.clear();
      await sim.stop();
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await sim.start();
    },
  },
];

/** Logins are held back 60 s after this one: once per soak is enough. */
const REJECT_CREDENTIALS: Episode = {
  name: 'service account refused',
  apply: (sim) => {
    set(sim, { kind: 'rejectCredentials', path: '/api/session', method: 'POST', times: 1 });
    sim.expireAllSessions();
  },
};

function set(sim: ApplianceSimulator, fault: Fault): void {
  sim.faults.set(fault);
}

export class SoakFaults {
  readonly applied: string[] = [];
  private rejected = false;

  constructor(private readonly simulators: { id: string; sim: ApplianceSimulator }[]) {}

  /** Episodes of `episodeMs` until `until`, each on a random appliance, every fault cleared afterwards. */
  async run(until: number, episodeMs: number, startedAt: number): Promise<void> {
    while (Date.now() + episodeMs <= until) {
      const target = this.simulators[Math.floor(Math.random() * this.simulators.length)];
      if (!target) return;
      const third = startedAt + (until - startedAt) / 3;
      const episode =
        !this.rejected && Date.now() >= third
          ? REJECT_CREDENTIALS
          : EPISODES[Math.floor(Math.random() * EPISODES.length)];
      if (episode === REJECT_CREDENTIALS) this.rejected = true;
      this.applied.push(`${episode.name} @${target.id}`);
      await episode.apply(target.sim);
      await new Promise((resolve) => setTimeout(resolve, episodeMs));
      target.sim.faults.clear();
    }
  }

  /** What was injected, how often. */
  summary(): string {
    const counts = new Map<string, number>();
    for (const name of this.applied) counts.set(name, (counts.get(name) ?? 0) + 1);
    return [...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, n]) => `${name}×${n}`)
      .join(', ');
  }
}
