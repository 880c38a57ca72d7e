// What the audit and Idempotency-Key scenarios share: the paired rounds of a gateway with an audit store, then
// GET /audit/verify on that gateway (every entry the load wrote must still form one valid chain).
import { compareTargets } from './compare.mjs';
import { requestJson } from './http.mjs';
import { fmt } from './table.mjs';

export async function compareThenVerify(ctx, targets, gateway) {
  const comparison = await compareTargets(targets, {
    ...ctx.opts,
    log: ctx.log,
    upstreamRequests: async () => (await ctx.upstream.stats()).requests,
  });
  const chain = await requestJson(`${gateway.url}/audit/verify`, {
    token: await ctx.idp.token({ scope: 'audit:read' }),
    expect: 200,
    timeoutMs: 120_000,
  });
  return { comparison, chain };
}

/** The table's note on the verification. */
export function chainNote(chain) {
  return chain.json?.ok
    ? `chain verifies: ${fmt(chain.json.count)} entries (${fmt(chain.ms / 1000, 1)} s)`
    : `CHAIN DOES NOT VERIFY: ${JSON.stringify(chain.json)}`;
}
