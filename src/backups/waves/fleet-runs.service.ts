import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { AuditRequestedInput } from '../../audit/audit-entry.js';
import { AuditRecorder } from '../../audit/audit-recorder.js';
import { type FleetRunRecord, FleetRunRecords } from '../../audit/fleet-runs.js';
import { auditActor } from '../../audit/run-entries.js';
import type { Principal } from '../../auth/principal.js';
import type { CallOrigin } from '../../context/call-origin.js';
import { GatewayError } from '../../problems/gateway-error.js';
import { type PolledEvent, PolledEvents, type PolledState } from '../polled-events.js';
import type { FleetRunStateDto } from './dto/fleet-run-state.dto.js';
import { fleetRunView, mayCancel, mayRead } from './fleet-run-view.js';

/**
 * Reading and cancelling queued fleet runs (`Prefer: respond-async`). A run is the business of the caller who started
 * it and of whoever may read every one of its appliances; to anyone else it does not exist (404, as for an id never
 * used). A 207 request's bookkeeping is not a fleet run anyone reads.
 */
@Injectable()
export class FleetRunsService {
  constructor(
    private readonly records: FleetRunRecords,
    private readonly polled: PolledEvents,
    private readonly audit: AuditRecorder,
  ) {}

  async get(principal: Principal, id: string): Promise<FleetRunStateDto> {
    return fleetRunView(await this.readable(principal, id));
  }

  /**
   * Queued members become `cancelled`; running backups go on (the vAPI cannot stop one). Audited as a run is: a
   * refusal is one `denied` entry; otherwise a `requested` entry is committed before anything changes (fail closed:
   * if the trail cannot take it, nothing is cancelled) and a `completed` entry says how it ended.
   */
  async cancel(principal: Principal, origin: CallOrigin, id: string): Promise<FleetRunStateDto> {
    const run = await this.readable(principal, id);
    const entry: AuditRequestedInput = {
      requestId: origin.requestId,
      action: 'backup.fleet-run.cancel',
      actor: auditActor(principal, origin),
      appliance: '*',
      schedule: run.schedule,
      fleetRequestId: run.id,
    };
    if (!mayCancel(principal, run)) {
      await this.audit.denied({ ...entry, httpStatus: 403, code: 'FORBIDDEN', durationMs: 0 });
      throw new GatewayError(
        'FORBIDDEN',
        'Cancelling a fleet run you did not start needs backups:run on all of its appliances.',
      );
    }
    const started = performance.now();
    const requestedId = await this.audit.requested(entry);
    const completed = (outcome: 'accepted' | 'failed', httpStatus: number, code?: string) =>
      this.audit.completed({
        ...entry,
        requestedId,
        outcome,
        httpStatus,
        code,
        durationMs: Math.round(performance.now() - started),
      });
    let cancelled: FleetRunRecord | undefined;
    try {
      cancelled = await this.records.cancelFleetRun(id);
    } catch (error) {
      await completed('failed', (error as { status?: number }).status ?? 500, (error as { code?: string }).code);
      throw error;
    }
    await completed('accepted', 200);
    return fleetRunView(cancelled ?? run);
  }

  /**
   * Server-Sent Events, as for a job: `progress` (the fleet run) whenever it changes, `end` once no member is queued
   * or running, `error` ({code}) if it cannot be read. Read from the store every `jobs.pollIntervalMs`, so a run held
   * by another replica is followed the same.
   */
  async events(principal: Principal, id: string): Promise<Observable<PolledEvent>> {
    await this.readable(principal, id); // 404 before the stream starts
    const read = async (): Promise<PolledState> => {
      const run = await this.records.getFleetRun(id);
      if (!run) throw new GatewayError('FLEET_RUN_NOT_FOUND', `No fleet run ${id}.`);
      const view = fleetRunView(run);
      return { data: view, signature: JSON.stringify(view), ended: run.endedAt !== undefined };
    };
    return this.polled.follow(`fleet-run ${id}`, read);
  }

  private async readable(principal: Principal, id: string): Promise<FleetRunRecord> {
    const run = await this.records.getFleetRun(id);
    if (run?.mode !== 'async' || !mayRead(principal, run)) {
      throw new GatewayError('FLEET_RUN_NOT_FOUND', `No fleet run ${id} that you may read.`);
    }
    return run;
  }
}
