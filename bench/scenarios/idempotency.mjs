// Scenario 2c: the hot path with an Idempotency-Key on every request (a fresh key per request,
// so every run is executed), as a ratio to the hot path without it.
//
// NOT BUILT YET. To build: autocannon's setupClient (or a `requests` array with setupRequest)
// can set a new `idempotency-key` header per request; compare against 'gateway' in the same
// rounds with compareTargets and report pairedRatio('gatewayIdempotency', 'gateway', 'rps'|'serverCpu').

export async function idempotency(_ctx) {
  return {
    result: { skipped: 'not built yet' },
    rows: [{ scenario: 'Idempotency-Key on every run', target: 'gateway', notes: 'skipped: not built yet' }],
  };
}
