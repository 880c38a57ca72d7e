// Scenario 5: fleet. A run across 50 simulated appliances with 50 ms latency each; wall time
// against the ideal ceil(50 / concurrency) × 50 ms.
//
// NOT BUILT YET. To build: startSimulatorFleet(ctx, { count: 50, latencyMs: 50 }) (the latency
// is a simulator fault on every request), a gateway with the 50 appliances, one fleet-run request
// (once the endpoint exists), and compare its wall time with the ideal for the configured concurrency.

export async function fleet(_ctx) {
  return {
    result: { skipped: 'not built yet' },
    rows: [{ scenario: 'fleet run: 50 appliances, 50 ms each', target: 'gateway', notes: 'skipped: not built yet' }],
  };
}
