/**
 * The idempotency-key statements both stores share (kysely compiles them per dialect). A claim is one write
 * transaction: an expired row is deleted, then `INSERT ... ON CONFLICT DO NOTHING` either places ours or leaves the
 * row that holds the key, which is then read. On PostgreSQL a racing insert waits for the other transaction and then
 * does nothing, so of two replicas claiming one key exactly one inserts; SQLite serialises the transactions.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditDatabase, IdempotencyKeysTable } from './audit-schema.js';
import type { IdempotencyClaim, StoredResponse } from './idempotency-keys.js';

/** A row can vanish between our conflict and our read (released by its holder): then the key is free again. */
const CLAIM_ATTEMPTS = 3;

export async function claimKey(
  trx: Kysely<AuditDatabase>,
  claim: { caller: string; key: string; fingerprint: string; expiresAt: string; now: string },
): Promise<IdempotencyClaim> {
  const { caller, key, fingerprint, expiresAt, now } = claim;
  const thisKey = trx
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key);
  await trx
    .deleteFrom('idempotency_keys')
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key)
    .where('expires_at', '<=', now)
    .execute();
  for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
    const inserted = await trx
      .insertInto('idempotency_keys')
      .values({
        caller,
        idempotency_key: key,
        fingerprint,
        state: 'in_progress',
        response_status: null,
        response_headers: null,
        response_body: null,
        entry_id: null,
        created_at: now,
        expires_at: expiresAt,
      })
      .onConflict((conflict) => conflict.columns(['caller', 'idempotency_key']).doNothing())
      .returning('caller')
      .executeTakeFirst();
    if (inserted) return { state: 'claimed' };
    const held = await thisKey.executeTakeFirst();
    if (held) return claimOf(held, fingerprint);
  }
  throw new Error(`idempotency key claim kept racing with its release (${CLAIM_ATTEMPTS} attempts)`);
}

function claimOf(row: Selectable<IdempotencyKeysTable>, fingerprint: string): IdempotencyClaim {
  if (row.fingerprint !== fingerprint) return { state: 'mismatch' };
  if (row.state !== 'done') return { state: 'in_progress' };
  return {
    state: 'done',
    response: {
      status: Number(row.response_status),
      headers: JSON.parse(row.response_headers ?? '{}') as Record<string, string>,
      body: row.response_body ?? '',
    },
    entryId: row.entry_id ?? '',
  };
}

export async function completeKey(
  db: Kysely<AuditDatabase>,
  caller: string,
  key: string,
  response: StoredResponse,
  entryId: string,
): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({
      state: 'done',
      response_status: response.status,
      response_headers: JSON.stringify(response.headers),
      response_body: response.body,
      entry_id: entryId,
    })
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key)
    .where('state', '=', 'in_progress')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function releaseKey(db: Kysely<AuditDatabase>, caller: string, key: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key)
    .where('state', '=', 'in_progress')
    .execute();
}

export async function purgeExpiredKeys(db: Kysely<AuditDatabase>, now: string): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
