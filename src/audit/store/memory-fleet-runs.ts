import { Injectable } from '@nestjs/common';
import {
  type FleetMemberUpdate,
  type FleetRunEnd,
  type FleetRunRecord,
  FleetRunRecords,
  isActive,
  type NewFleetRun,
  SLOT_STATES,
} from '../fleet-runs.js';

type Member = FleetRunRecord['members'][number];

interface Held {
  run: FleetRunRecord;
  owner: string | undefined;
  leaseUntil: number;
  /** The run's members by appliance (one each): an update finds its member without a walk. */
  byAppliance: Map<string, Member>;
}

/** Beyond this many finished runs the oldest are forgotten (only with the audit trail off: benchmarks and labs). */
const MAX_FINISHED = 1000;

/**
 * `audit.store: off`: fleet runs live in this process only (a restart forgets them, no replica shares them), with the
 * same rules as the database's tables.
 */
@Injectable()
export class MemoryFleetRunRecords extends FleetRunRecords {
  readonly durable = false;
  private readonly runs = new Map<string, Held>();
  /**
   * Every member of every run not ended, by target. A member entering a slot counts the slots its own target holds, not
   * every member of every run: with the walk over all of them a fleet run over 1,000 cost O(members²) (0.3 ms a
   * member at 1,000, a tenth of the gateway's CPU per member, measured).
   */
  private readonly byTarget = new Map<string, { held: Held; member: Member }[]>();

  async createFleetRun(run: NewFleetRun, owner: string, leaseMs: number): Promise<FleetRunRecord> {
    const now = new Date().toISOString();
    const record: FleetRunRecord = {
      id: run.id,
      mode: run.mode,
      caller: run.caller,
      actor: run.actor,
      requestId: run.requestId,
      schedule: run.schedule,
      ...(run.comment !== undefined && { comment: run.comment }),
      state: 'running',
      createdAt: now,
      members: run.members.map((member) => ({
        appliance: member.appliance,
        target: member.target,
        state: member.state,
        ...(member.error !== undefined && { error: member.error }),
        ...(member.state === 'failed' && { endedAt: now }),
      })),
    };
    this.forgetOldest();
    const held: Held = { run: record, owner, leaseUntil: Date.now() + leaseMs, byAppliance: new Map() };
    this.runs.set(run.id, held);
    for (const member of record.members) this.hold(held, member);
    return structuredClone(record);
  }

  async getFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    const held = this.runs.get(id);
    return held && structuredClone(held.run);
  }

  async claimFleetRuns(owner: string, leaseMs: number, limit: number): Promise<string[]> {
    const now = Date.now();
    const own: string[] = [];
    const taken: string[] = [];
    // Every run the owner holds is renewed; the limit is on what it takes over (as the database's stores do).
    for (const [id, held] of this.runs) {
      if (held.run.endedAt !== undefined) continue;
      if (held.owner === owner) own.push(id);
      else if (taken.length < limit && (held.owner === undefined || held.leaseUntil <= now)) taken.push(id);
      else continue;
      held.owner = owner;
      held.leaseUntil = now + leaseMs;
    }
    return [...own, ...taken];
  }

  async reserveFleetMembers(
    id: string,
    owner: string,
    perTarget: number,
  ): Promise<{ appliance: string; target: string }[]> {
    const held = this.runs.get(id);
    if (!held || held.owner !== owner || held.run.mode !== 'async' || held.run.state !== 'running') return [];
    const reserved: { appliance: string; target: string }[] = [];
    // Each target counted once per call, not once per queued member: a queue of thousands behind a full target.
    const taken = new Map<string, number>();
    for (const member of held.run.members) {
      if (member.state !== 'queued') continue;
      const slots = taken.get(member.target) ?? this.slotsOf(member.target);
      if (slots >= perTarget) continue;
      taken.set(member.target, slots + 1);
      member.state = 'starting';
      member.startedAt = new Date().toISOString();
      reserved.push({ appliance: member.appliance, target: member.target });
    }
    return reserved;
  }

  async enterFleetMember(
    id: string,
    member: { appliance: string; target: string },
    perTarget: number,
  ): Promise<boolean> {
    const held = this.runs.get(id);
    if (!held || held.run.endedAt !== undefined || this.slotsOf(member.target) >= perTarget) return false;
    const entered: Member = { ...member, state: 'starting', startedAt: new Date().toISOString() };
    held.run.members.push(entered);
    this.hold(held, entered);
    return true;
  }

  async updateFleetMember(id: string, appliance: string, update: FleetMemberUpdate): Promise<boolean> {
    const member = this.runs.get(id)?.byAppliance.get(appliance);
    if (!member || !update.from.includes(member.state)) return false;
    const now = new Date().toISOString();
    member.state = update.state;
    if (update.jobId !== undefined) member.jobId = update.jobId;
    if (update.error !== undefined) member.error = update.error;
    if (update.started) member.startedAt = now;
    if (update.ended) member.endedAt = now;
    return true;
  }

  async cancelFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    const held = this.runs.get(id);
    if (!held) return undefined;
    if (held.run.state === 'running') {
      held.run.state = 'cancelled';
      const now = new Date().toISOString();
      for (const member of held.run.members) {
        if (member.state !== 'queued') continue;
        member.state = 'cancelled';
        member.endedAt = now;
      }
    }
    return structuredClone(held.run);
  }

  /** No outbox here (notifications need the audit database): `end.messages` has nothing to be written to. */
  async finishFleetRun(id: string, end: FleetRunEnd): Promise<boolean> {
    const held = this.runs.get(id);
    if (!held || held.run.endedAt !== undefined || held.run.state !== end.state) return false;
    if (held.run.members.some((member) => isActive(member.state))) return false;
    held.run.endedAt = new Date().toISOString();
    this.release(held);
    if (held.run.state === 'running') held.run.state = 'completed';
    held.owner = undefined;
    return true;
  }

  async releaseFleetRuns(owner: string): Promise<void> {
    for (const held of this.runs.values()) {
      if (held.owner === owner) held.owner = undefined;
    }
  }

  /** Members holding a slot (starting or running) of `target`, across every run not ended. */
  private slotsOf(target: string): number {
    let slots = 0;
    for (const { member } of this.byTarget.get(target) ?? []) {
      if (SLOT_STATES.includes(member.state)) slots++;
    }
    return slots;
  }

  private hold(held: Held, member: Member): void {
    held.byAppliance.set(member.appliance, member);
    const members = this.byTarget.get(member.target);
    if (members) members.push({ held, member });
    else this.byTarget.set(member.target, [{ held, member }]);
  }

  /**
   * An ended run's members leave the lists (a run ends only once none of them holds a slot, so the count does not
   * change): a target's list then holds the runs under way, not the last thousand finished ones.
   */
  private release(held: Held): void {
    for (const target of new Set(held.run.members.map((member) => member.target))) {
      const kept = (this.byTarget.get(target) ?? []).filter((entry) => entry.held !== held);
      if (kept.length > 0) this.byTarget.set(target, kept);
      else this.byTarget.delete(target);
    }
  }

  private forgetOldest(): void {
    const finished = [...this.runs.values()].filter((held) => held.run.endedAt !== undefined);
    for (const held of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED))) this.runs.delete(held.run.id);
  }
}
