// Scenario 4: watchers. 200 concurrent pollers of one running job for 10 s; the measure is the
// upstream's job-status requests per second (goal: at most one per poll interval, however many
// watchers). bench/check.mjs reads result.upstreamRequestsPerPollInterval.
//
// NOT BUILT YET. To build: startSimulatorFleet(ctx, { count: 1, jobDurationMs: 60_000 }), a
// gateway on it, one run to start a job, then 200 clients polling GET .../jobs/{jobId} (or the
// watch endpoint, once it exists) for 10 s; read the simulator's `jobGets` counter before and after.

export async function watchers(_ctx) {
  return {
    result: { skipped: 'not built yet' },
    rows: [{ scenario: 'watchers: 200 pollers of one job', target: 'gateway', notes: 'skipped: not built yet' }],
  };
}
