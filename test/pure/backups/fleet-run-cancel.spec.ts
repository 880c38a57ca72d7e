import { MemoryFleetRunRecords } from '../../../src/audit/store/memory-fleet-runs.js';
import { apiKeyCaller } from '../../../src/auth/caller-id.js';
import { PolledEvents } from '../../../src/backups/polled-events.js';
import { FleetRunsService } from '../../../src/backups/waves/fleet-runs.service.js';
import { GatewayMetrics } from '../../../src/metrics/gateway-metrics.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';
import { originFor, principal, RecordingAudit, runConfig } from '../../support/run-fakes.js';

/**
 * Cancelling a fleet run is audited as a run is, and fails closed the same way: the `requested` entry is committed
 * before anything changes, and a cancel the trail cannot record does not happen. (The HTTP path and the entries as
 * readers see them: test/app/api/fleet-waves.e2e-spec.ts.)
 */
const config = runConfig();
const ops = principal('backups:run');

async function world(records = new MemoryFleetRunRecords()) {
  const audit = new RecordingAudit();
  const service = new FleetRunsService(records, new PolledEvents(config, new GatewayMetrics(config)), audit);
  await records.createFleetRun(
    {
      id: 'fr-1',
      mode: 'async',
      caller: ops.caller,
      actor: { subject: ops.caller, authMethod: 'apiKey', ip: '192.0.2.7' },
      requestId: 'req-start',
      schedule: 'daily',
      members: [
        { appliance: 'vc-a', target: 'nas', state: 'queued' },
        { appliance: 'vc-b', target: 'nas', state: 'queued' },
      ],
    },
    'replica-1',
    60_000,
  );
  const states = async () => (await records.getFleetRun('fr-1'))?.members.map((member) => member.state);
  return { audit, service, records, states };
}

describe('cancelling a fleet run', () => {
  it('commits a requested entry before the cancel and a completed one after it, under the request id', async () => {
    const { audit, service, records } = await world();
    let stateWhenRequested: string | undefined;
    const requested = audit.requested.bind(audit);
    audit.requested = async (input) => {
      stateWhenRequested = (await records.getFleetRun('fr-1'))?.state;
      return requested(input);
    };
    const view = await service.cancel(ops, originFor('req-cancel'), 'fr-1');
    expect(view.state).toBe('cancelled');
    expect(stateWhenRequested).toBe('running');
    expect(audit.kinds()).toEqual(['requested', 'completed']);
    const [entry] = audit.of('requested');
    expect(entry).toMatchObject({
      action: 'backup.fleet-run.cancel',
      requestId: 'req-cancel',
      appliance: '*',
      schedule: 'daily',
      fleetRequestId: 'fr-1',
      actor: { subject: ops.caller, ip: '192.0.2.7', userAgent: 'unit-test' },
    });
    expect(audit.of('completed')[0]).toMatchObject({
      ...entry,
      outcome: 'accepted',
      httpStatus: 200,
      requestedId: 'e1',
    });
  });

  it('cancels nothing when the audit trail cannot take the requested entry (fail closed)', async () => {
    const { audit, service, states } = await world();
    audit.failRequested = RecordingAudit.unavailable();
    const failure = await service.cancel(ops, originFor('req-cancel'), 'fr-1').catch((error) => error);
    expect(failure).toBeInstanceOf(GatewayError);
    expect((failure as GatewayError).code).toBe('AUDIT_UNAVAILABLE');
    expect(await states()).toEqual(['queued', 'queued']);
    expect(audit.kinds()).toEqual(['requested']);
  });

  it('records a cancel that failed in the fleet-run store as failed, with its code, and passes the error on', async () => {
    class BrokenCancel extends MemoryFleetRunRecords {
      override async cancelFleetRun(): Promise<undefined> {
        throw new GatewayError('AUDIT_UNAVAILABLE', 'The audit store holding fleet runs is unavailable.');
      }
    }
    const { audit, service } = await world(new BrokenCancel());
    await expect(service.cancel(ops, originFor('req-cancel'), 'fr-1')).rejects.toMatchObject({
      code: 'AUDIT_UNAVAILABLE',
    });
    expect(audit.kinds()).toEqual(['requested', 'completed']);
    expect(audit.of('completed')[0]).toMatchObject({ outcome: 'failed', httpStatus: 503, code: 'AUDIT_UNAVAILABLE' });
  });

  it('records a refusal as one denied entry and cancels nothing', async () => {
    const { audit, service, states } = await world();
    // May read the run (backups:read), but run backups on only one of its appliances.
    const stranger = { ...principal('backups:read', 'backups:run:vc-a'), caller: apiKeyCaller('someone-else') };
    await expect(service.cancel(stranger, originFor('req-cancel'), 'fr-1')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await states()).toEqual(['queued', 'queued']);
    expect(audit.kinds()).toEqual(['denied']);
    expect(audit.of('denied')[0]).toMatchObject({
      action: 'backup.fleet-run.cancel',
      actor: { subject: apiKeyCaller('someone-else') },
      httpStatus: 403,
      code: 'FORBIDDEN',
      fleetRequestId: 'fr-1',
    });
  });
});
