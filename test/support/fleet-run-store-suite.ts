/**
 * The rules every fleet-run store keeps (audit/fleet-runs.ts: SQLite and PostgreSQL through kysely, and this process's
 * memory when the audit trail is off), driven through FleetRunStore alone: slots counted per target across every run,
 * queues reserved in order by their holder only, leases, cancel and finish. The HTTP suites show the same through the
 * gateway; this one names the store that broke.
 */
import { randomUUID } from 'node:crypto';
import type { FleetRunEnd, FleetRunState, FleetRunStore, NewFleetRun } from '../../src/audit/fleet-runs.js';

export interface FleetRunStoreFixture {
  store: FleetRunStore;
  /** The ids of the outbox's messages, where the store has an outbox (the audit database's). */
  outbox?(): Promise<string[]>;
  dispose(): Promise<void>;
}

const NAS = 'nfs://nas.example.test:2049';
const SMB = 'smb://files.example.test:445';
const LEASE_MS = 60_000;
const ACTOR = { subject: 'ops', authMethod: 'jwt' as const, ip: '127.0.0.1' };

function newRun(members: { appliance: string; target: string }[], mode: 'async' | 'sync' = 'async'): NewFleetRun {
  return {
    id: randomUUID(),
    mode,
    caller: 'jwt:ops',
    actor: ACTOR,
    requestId: `req-${randomUUID()}`,
    schedule: 'default',
    members: members.map((member) => ({ ...member, state: 'queued' as const })),
  };
}

/** An end as FleetWaves writes it, with no notification to announce it. */
const quietly = (state: FleetRunState = 'running'): FleetRunEnd => ({ state, messages: [] });

const on = (target: string, ...appliances: string[]) => appliances.map((appliance) => ({ appliance, target }));

export function describeFleetRunStore(name: string, make: () => Promise<FleetRunStoreFixture>): void {
  describe(name, () => {
    let fixture: FleetRunStoreFixture;
    let store: FleetRunStore;

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture?.dispose();
    });

    const create = (members: { appliance: string; target: string }[], owner = 'me', mode?: 'async' | 'sync') =>
      store.createFleetRun(newRun(members, mode), owner, LEASE_MS);

    it('reserves queued members in their order, at most perTarget on each target', async () => {
      const run = await create([...on(NAS, 'vc-1', 'vc-2', 'vc-3'), ...on(SMB, 'vc-4', 'vc-5')]);
      expect(run.members.map((m) => m.state)).toEqual(Array(5).fill('queued'));
      const reserved = await store.reserveFleetMembers(run.id, 'me', 2);
      expect(reserved.map((r) => r.appliance).sort()).toEqual(['vc-1', 'vc-2', 'vc-4', 'vc-5']);
      expect(await store.reserveFleetMembers(run.id, 'me', 2)).toEqual([]);
      const read = await store.getFleetRun(run.id);
      expect(read?.members.map((m) => [m.appliance, m.state])).toEqual([
        ['vc-1', 'starting'],
        ['vc-2', 'starting'],
        ['vc-3', 'queued'],
        ['vc-4', 'starting'],
        ['vc-5', 'starting'],
      ]);
      expect(read?.members[0].startedAt).toEqual(expect.any(String));
    });

    it("counts a target's slots across every run: another run's running members leave it less room", async () => {
      const first = await create(on(NAS, 'vc-1', 'vc-2'));
      await store.reserveFleetMembers(first.id, 'me', 3);
      expect(
        await store.updateFleetMember(first.id, 'vc-1', { state: 'running', from: ['starting'], jobId: 'j1' }),
      ).toBe(true);
      const second = await create(on(NAS, 'vc-3', 'vc-4', 'vc-5'));
      expect((await store.reserveFleetMembers(second.id, 'me', 3)).map((r) => r.appliance)).toEqual(['vc-3']);
      // A sync run's member (a 207 request) counts too, and is refused when the target is full.
      const sync = await create([], 'me', 'sync');
      expect(await store.enterFleetMember(sync.id, { appliance: 'vc-6', target: NAS }, 3)).toBe(false);
      expect(await store.enterFleetMember(sync.id, { appliance: 'vc-7', target: SMB }, 3)).toBe(true);
      expect((await store.getFleetRun(sync.id))?.members.map((m) => [m.appliance, m.state])).toEqual([
        ['vc-7', 'starting'],
      ]);
    });

    it('no member enters a sync run that has ended (another replica ended it): nothing written, no slot taken', async () => {
      const sync = await create([], 'me', 'sync');
      expect(await store.enterFleetMember(sync.id, { appliance: 'vc-1', target: NAS }, 3)).toBe(true);
      await store.updateFleetMember(sync.id, 'vc-1', { state: 'succeeded', from: ['starting'], ended: true });
      expect(await store.finishFleetRun(sync.id, quietly())).toBe(true);
      expect(await store.enterFleetMember(sync.id, { appliance: 'vc-2', target: NAS }, 3)).toBe(false);
      expect((await store.getFleetRun(sync.id))?.members.map((m) => m.appliance)).toEqual(['vc-1']);
      // The target's slots are all free: an async run reserves three.
      const next = await create(on(NAS, 'vc-3', 'vc-4', 'vc-5'));
      expect(await store.reserveFleetMembers(next.id, 'me', 3)).toHaveLength(3);
    });

    it("a member's end makes room for the next queued member", async () => {
      const run = await create(on(NAS, 'vc-1', 'vc-2', 'vc-3'));
      await store.reserveFleetMembers(run.id, 'me', 1);
      await store.updateFleetMember(run.id, 'vc-1', { state: 'running', from: ['starting'], jobId: 'j1' });
      expect(await store.reserveFleetMembers(run.id, 'me', 1)).toEqual([]);
      expect(
        await store.updateFleetMember(run.id, 'vc-1', { state: 'succeeded', from: ['running'], ended: true }),
      ).toBe(true);
      // Written only from the states named: a second end of the same member changes nothing.
      expect(await store.updateFleetMember(run.id, 'vc-1', { state: 'failed', from: ['running'], ended: true })).toBe(
        false,
      );
      expect(await store.reserveFleetMembers(run.id, 'me', 1)).toEqual([{ appliance: 'vc-2', target: NAS }]);
      const read = await store.getFleetRun(run.id);
      expect(read?.members.map((m) => m.state)).toEqual(['succeeded', 'starting', 'queued']);
      expect(read?.members[0]).toMatchObject({ jobId: 'j1', endedAt: expect.any(String) });
    });

    it('only the holder reserves; another owner takes the run only once the lease has passed or was released', async () => {
      const run = await create(on(NAS, 'vc-1'), 'me');
      expect(await store.reserveFleetMembers(run.id, 'other', 4)).toEqual([]);
      expect(await store.claimFleetRuns('other', LEASE_MS, 10)).toEqual([]);
      expect(await store.claimFleetRuns('me', LEASE_MS, 10)).toEqual([run.id]);
      await store.releaseFleetRuns('me');
      expect(await store.claimFleetRuns('other', LEASE_MS, 10)).toEqual([run.id]);
      expect(await store.claimFleetRuns('me', LEASE_MS, 10)).toEqual([]);
      expect((await store.reserveFleetMembers(run.id, 'other', 4)).map((r) => r.appliance)).toEqual(['vc-1']);
    });

    it('a holder renews every run it holds, however many; the limit is on the runs it takes over', async () => {
      const lapsed = async (owner: string, appliance: string) => {
        const run = await store.createFleetRun(newRun(on(NAS, appliance)), owner, 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return run.id;
      };
      const mine = [await lapsed('me', 'vc-1'), await lapsed('me', 'vc-2'), await lapsed('me', 'vc-3')];
      await new Promise((resolve) => setTimeout(resolve, 20));
      // All three renewed, though the limit is 1: none is left to lapse into another replica's hands.
      expect(await store.claimFleetRuns('me', LEASE_MS, 1)).toEqual(mine);
      expect(await store.claimFleetRuns('other', LEASE_MS, 10)).toEqual([]);

      const theirs = [await lapsed('gone', 'vc-4'), await lapsed('gone', 'vc-5'), await lapsed('gone', 'vc-6')];
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Taken over: at most the limit, oldest first; the next claim keeps those and takes the rest.
      expect(await store.claimFleetRuns('me', LEASE_MS, 2)).toEqual([...mine, ...theirs.slice(0, 2)]);
      expect(await store.claimFleetRuns('me', LEASE_MS, 2)).toEqual([...mine, ...theirs]);
    });

    it('a lease that has passed is taken over', async () => {
      const run = await store.createFleetRun(newRun(on(NAS, 'vc-1')), 'gone', 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.claimFleetRuns('me', LEASE_MS, 10)).toEqual([run.id]);
    });

    it('cancel: queued members are cancelled, the running ones go on, and the run ends once they have', async () => {
      const run = await create(on(NAS, 'vc-1', 'vc-2', 'vc-3'));
      await store.reserveFleetMembers(run.id, 'me', 1);
      await store.updateFleetMember(run.id, 'vc-1', { state: 'running', from: ['starting'], jobId: 'j1' });
      const cancelled = await store.cancelFleetRun(run.id);
      expect(cancelled?.state).toBe('cancelled');
      expect(cancelled?.members.map((m) => m.state)).toEqual(['running', 'cancelled', 'cancelled']);
      // Nothing is reserved from a cancelled run, and it does not end while a member runs.
      expect(await store.reserveFleetMembers(run.id, 'me', 4)).toEqual([]);
      expect(await store.finishFleetRun(run.id, quietly('cancelled'))).toBe(false);
      await store.updateFleetMember(run.id, 'vc-1', { state: 'succeeded', from: ['running'], ended: true });
      // Read as running before the cancel: that end (and its announcement) is not written; read again, it is.
      expect(await store.finishFleetRun(run.id, quietly('running'))).toBe(false);
      expect(await store.finishFleetRun(run.id, quietly('cancelled'))).toBe(true);
      const ended = await store.getFleetRun(run.id);
      expect(ended).toMatchObject({ state: 'cancelled', endedAt: expect.any(String) });
      expect(await store.cancelFleetRun(randomUUID())).toBeUndefined();
    });

    it('finishes a run once: completed when no member is queued, starting or running', async () => {
      const run = await create(on(NAS, 'vc-1'));
      expect(await store.finishFleetRun(run.id, quietly())).toBe(false);
      await store.reserveFleetMembers(run.id, 'me', 1);
      expect(await store.finishFleetRun(run.id, quietly())).toBe(false);
      await store.updateFleetMember(run.id, 'vc-1', { state: 'failed', from: ['starting'], ended: true });
      expect(await store.finishFleetRun(run.id, quietly())).toBe(true);
      expect(await store.finishFleetRun(run.id, quietly())).toBe(false);
      expect((await store.getFleetRun(run.id))?.state).toBe('completed');
      // An ended run is nobody's to claim.
      expect(await store.claimFleetRuns('me', LEASE_MS, 10)).toEqual([]);
    });

    it("writes a run's announcement in the transaction that ends it, and only then", async () => {
      if (!fixture.outbox) return; // no outbox without the audit database (notifications need it)
      const run = await create(on(NAS, 'vc-1'));
      const message = (id: string) => ({
        id,
        eventId: `fleet-run:${run.id}`,
        webhook: 'portal',
        type: 'com.backupgateway.fleet-run.completed',
        subject: run.id,
        body: '{}',
      });
      expect(await store.finishFleetRun(run.id, { state: 'running', messages: [message('msg_early')] })).toBe(false);
      await store.reserveFleetMembers(run.id, 'me', 1);
      await store.updateFleetMember(run.id, 'vc-1', { state: 'succeeded', from: ['starting'], ended: true });
      expect(await store.finishFleetRun(run.id, { state: 'running', messages: [message('msg_end')] })).toBe(true);
      expect(await store.finishFleetRun(run.id, { state: 'running', messages: [message('msg_again')] })).toBe(false);
      expect(await fixture.outbox()).toEqual(['msg_end']);
    });

    it('keeps members refused before they queued as failed, with their problem, and never reserves them', async () => {
      const spec = newRun(on(NAS, 'vc-1'));
      spec.members.push({ appliance: 'vc-2', target: 'unknown', state: 'failed', error: '{"code":"FORBIDDEN"}' });
      const run = await store.createFleetRun(spec, 'me', LEASE_MS);
      expect(run.members[1]).toMatchObject({
        state: 'failed',
        error: '{"code":"FORBIDDEN"}',
        endedAt: expect.any(String),
      });
      expect((await store.reserveFleetMembers(run.id, 'me', 4)).map((r) => r.appliance)).toEqual(['vc-1']);
    });

    it('a queue of thousands behind one target is reserved up to the limit and no further', async () => {
      const appliances = Array.from({ length: 3000 }, (_, i) => `vc-${i}`);
      const run = await create(on(NAS, ...appliances));
      expect((await store.reserveFleetMembers(run.id, 'me', 4)).map((r) => r.appliance)).toEqual(
        appliances.slice(0, 4),
      );
      const read = await store.getFleetRun(run.id);
      expect(read?.members.filter((m) => m.state === 'queued')).toHaveLength(2996);
    });
  });
}
