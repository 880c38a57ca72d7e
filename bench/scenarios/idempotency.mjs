// Scenario 2c: the hot path with an Idempotency-Key on every request (a fresh key per request,
// so every run is executed), as a ratio to the hot path without it.
//
// NOT BUILT: the gateway has no Idempotency-Key feature yet (the header is ignored), so there is nothing to
// measure. Once it exists: autocannon's setupClient (or a `requests` array with setupRequest)
// can set a new `idempotency-key` header per request; compare against 'gateway' in the same
// rounds with compareTargets and report pairedRatio('gatewayIdempotency', 'gateway', 'rps'|'serverCpu').

const NOT_BUILT = 'not built: the gateway has no Idempotency-Key feature yet';

export async function idempotency(_ctx) {
  return {
    result: { skipped: NOT_BUILT },
    rows: [{ scenario: 'Idempotency-Key on every run', target: 'gateway', notes: `skipped: ${NOT_BUILT}` }],
  };
}
