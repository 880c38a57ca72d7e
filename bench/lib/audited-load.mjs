// What the audit and Idempotency-Key scenarios share: the paired rounds of a gateway with an audit store, then
// GET /audit/verify on that gateway (every entry the load wrote must still form one valid chain).
import { compareTargets } from './compare.mjs';
import { requestJson } from './http.mjs';
import { postgresServer, withBenchSchema } from './postgres.mjs';
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

/**
 * A scenario's PostgreSQL half: skipped (with its row) when no server is found, else `run` with the audit config of
 * a schema of its own (dropped afterwards), the server's processes for CPU accounting and what to report about it.
 */
export async function withPostgresAudit(ctx, { scenario, schemaPrefix }, run) {
  const server = postgresServer(ctx);
  if (server.skipped) {
    ctx.log(`${scenario}: skipped: ${server.skipped}`);
    return {
      result: { skipped: server.skipped },
      rows: [{ scenario, target: 'gateway', notes: `skipped: ${server.skipped}` }],
    };
  }
  return withBenchSchema(server, schemaPrefix, ({ url, schema, local, database }) =>
    run({
      audit: { store: 'postgres', postgres: { url } },
      database,
      describe: { urlFrom: server.from, schema, serverOnThisMachine: local },
    }),
  );
}
