import { Injectable } from '@nestjs/common';
import { auditUnavailable } from '../audit-unavailable.js';
import {
  type FleetMemberUpdate,
  type FleetRunEnd,
  type FleetRunRecord,
  FleetRunRecords,
  type FleetRunStore,
  type NewFleetRun,
} from '../fleet-runs.js';
import { AuditStoreHandle } from './audit-store-handle.js';

const UNAVAILABLE = 'The audit store holding fleet runs is unavailable; nothing was sent.';

/**
 * Fleet runs in the audit database: kept across restarts and shared by every replica on one PostgreSQL. A store that
 * cannot be opened is AUDIT_UNAVAILABLE (503, nothing sent).
 */
@Injectable()
export class StoredFleetRunRecords extends FleetRunRecords {
  readonly durable = true;

  constructor(private readonly handle: AuditStoreHandle) {
    super();
  }

  async createFleetRun(run: NewFleetRun, owner: string, leaseMs: number): Promise<FleetRunRecord> {
    const store = await this.store();
    try {
      return await store.createFleetRun(run, owner, leaseMs);
    } catch (error) {
      throw auditUnavailable(UNAVAILABLE, error);
    }
  }

  async getFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    return (await this.store()).getFleetRun(id);
  }

  async claimFleetRuns(owner: string, leaseMs: number, limit: number): Promise<string[]> {
    return (await this.store()).claimFleetRuns(owner, leaseMs, limit);
  }

  async reserveFleetMembers(
    id: string,
    owner: string,
    perTarget: number,
  ): Promise<{ appliance: string; target: string }[]> {
    return (await this.store()).reserveFleetMembers(id, owner, perTarget);
  }

  async enterFleetMember(
    id: string,
    member: { appliance: string; target: string },
    perTarget: number,
  ): Promise<boolean> {
    const store = await this.store();
    try {
      return await store.enterFleetMember(id, member, perTarget);
    } catch (error) {
      throw auditUnavailable(UNAVAILABLE, error);
    }
  }

  async updateFleetMember(id: string, appliance: string, update: FleetMemberUpdate): Promise<boolean> {
    return (await this.store()).updateFleetMember(id, appliance, update);
  }

  async cancelFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    return (await this.store()).cancelFleetRun(id);
  }

  async finishFleetRun(id: string, end: FleetRunEnd): Promise<boolean> {
    return (await this.store()).finishFleetRun(id, end);
  }

  async releaseFleetRuns(owner: string): Promise<void> {
    return (await this.store()).releaseFleetRuns(owner);
  }

  private async store(): Promise<FleetRunStore> {
    const store = await this.handle.open();
    if (!store) throw auditUnavailable(UNAVAILABLE);
    return store.fleetRuns;
  }
}
