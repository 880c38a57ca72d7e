/**
 * The idempotency-key statements both stores share (kysely compiles them per dialect). A claim is one write
 * transaction: an expired row is deleted, then `INSERT ... ON CONFLICT DO NOTHING` either places ours or leaves the
 * row that holds the key, which is then read, and taken over when its lease has ended. On PostgreSQL a racing insert
 * waits for the other transaction and then does nothing, so of two replicas claiming one key exactly one inserts;
 * SQLite serialises the transactions. Every time is the database's (`Clock`), never the caller's process.
 */
import type { Kysely, RawBuilder, Selectable } from 'kysely';
import type { ClaimRequest, IdempotencyClaim, KeySettlement, StoredMember } from '../idempotency-keys.js';
import type { AuditDatabase, IdempotencyKeysTable } from './audit-schema.js';

/** The database's time as ISO 8601 UTC text (as stored), `offsetMs` from now. */
export type Clock = (offsetMs?: number) => RawBuilder<string>;

/** The longest lease a claim is given (IdempotentRuns): what a claim from before leases existed is held for. */
const LEGACY_LEASE_MS = 10 * 60_000;
/** A row can vanish between our conflict and our read (released by its holder): then the key is free again. */
const CLAIM_ATTEMPTS = 3;

export async function claimKey(trx: Kysely<AuditDatabase>, now: Clock, claim: ClaimRequest): Promise<IdempotencyClaim> {
  const { caller, key, fingerprint, owner, ttlMs, leaseMs } = claim;
  const thisKey = trx
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key);
  await trx
    .deleteFrom('idempotency_keys')
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key)
    .where('expires_at', '<=', now())
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
        created_at: now(),
        expires_at: now(ttlMs),
        owner,
        lease_until: now(leaseMs),
        members: null,
      })
      .onConflict((conflict) => conflict.columns(['caller', 'idempotency_key']).doNothing())
      .returning('caller')
      .executeTakeFirst();
    if (inserted) return { state: 'claimed', members: {} };
    const held = await thisKey.executeTakeFirst();
    if (!held) continue;
    if (held.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (held.state === 'done') return doneOf(held);
    // Released (no owner), or its owner died: the lease is over and this request takes the key. A claim written
    // before leases existed (no lease_until) is held for the longest lease from its creation.
    const taken = await trx
      .updateTable('idempotency_keys')
      .set({ owner, lease_until: now(leaseMs) })
      .where('caller', '=', caller)
      .where('idempotency_key', '=', key)
      .where('state', '=', 'in_progress')
      .where((eb) =>
        eb.or([
          eb('lease_until', '<=', now()),
          eb.and([eb('lease_until', 'is', null), eb('created_at', '<=', now(-LEGACY_LEASE_MS))]),
        ]),
      )
      .returning('members')
      .executeTakeFirst();
    if (!taken) return { state: 'in_progress' };
    return { state: 'claimed', members: membersOf(taken.members) };
  }
  throw new Error(`idempotency key claim kept racing with its release (${CLAIM_ATTEMPTS} attempts)`);
}

function doneOf(row: Selectable<IdempotencyKeysTable>): IdempotencyClaim {
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

function membersOf(text: string | null): Record<string, StoredMember> {
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, StoredMember>;
  } catch {
    return {};
  }
}

/**
 * Settles a key: the whole answer makes it `done`; a fleet member's final answer is added to the row's members (the
 * key stays claimed). A key already `done` is left as it is, so a settlement written again from the spool is harmless.
 */
export async function completeKey(trx: Kysely<AuditDatabase>, settlement: KeySettlement): Promise<boolean> {
  const { caller, key } = settlement;
  const row = trx
    .updateTable('idempotency_keys')
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key)
    .where('state', '=', 'in_progress');
  if ('response' in settlement) {
    const { response, entryId } = settlement;
    const result = await row
      .set({
        state: 'done',
        response_status: response.status,
        response_headers: JSON.stringify(response.headers),
        response_body: response.body,
        entry_id: entryId,
        owner: null,
        lease_until: null,
      })
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
  const held = await trx
    .selectFrom('idempotency_keys')
    .select('members')
    .where('caller', '=', caller)
    .where('idempotency_key', '=', key)
    .where('state', '=', 'in_progress')
    .executeTakeFirst();
  if (!held) return false;
  const members = membersOf(held.members);
  members[settlement.member] = { result: settlement.memberResult, entryId: settlement.entryId };
  const result = await row.set({ members: JSON.stringify(members) }).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * The owner gives the key up: a key with final fleet members stays (unowned, its lease over) so that a retry
 * replays them; any other is deleted. Another owner's claim is never touched.
 */
export async function releaseKey(
  trx: Kysely<AuditDatabase>,
  now: Clock,
  caller: string,
  key: string,
  owner: string,
): Promise<void> {
  const owned = { caller, idempotency_key: key, owner };
  await trx
    .updateTable('idempotency_keys')
    .set({ owner: null, lease_until: now() })
    .where((eb) => eb.and({ ...owned, state: 'in_progress' }))
    .where('members', 'is not', null)
    .execute();
  await trx
    .deleteFrom('idempotency_keys')
    .where((eb) => eb.and({ ...owned, state: 'in_progress' }))
    .where('members', 'is', null)
    .execute();
}

/** The owner's request is still running: its claim is held for another lease from now. */
export async function renewKey(
  trx: Kysely<AuditDatabase>,
  now: Clock,
  caller: string,
  key: string,
  owner: string,
  leaseMs: number,
): Promise<boolean> {
  const result = await trx
    .updateTable('idempotency_keys')
    .set({ lease_until: now(leaseMs) })
    .where((eb) => eb.and({ caller, idempotency_key: key, owner, state: 'in_progress' }))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function purgeExpiredKeys(db: Kysely<AuditDatabase>, now: Clock): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
