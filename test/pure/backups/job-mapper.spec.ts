import type { VapiJobStatus } from '../../../src/appliances/vapi-client.js';
import { toJob } from '../../../src/backups/job-mapper.js';

/** A BackupJobStatus as a vCenter 8 answers it: the documented fields, and more that the gateway does not type. */
function applianceStatus(extra: Record<string, unknown>): VapiJobStatus {
  return {
    id: '20261207-101500-00001',
    state: 'INPROGRESS',
    progress: 42,
    start_time: '2026-12-07T10:15:00.000Z',
    messages: [{ id: 'com.vmware.backup.running', default_message: 'Backup is running', args: ['vc-01', 7] }],
    ...extra,
  } as VapiJobStatus;
}

describe('toJob: the appliance job status in our shape', () => {
  it('types the documented fields: camelCase names, endTime null while unset, messages as id/message/args', () => {
    expect(toJob(applianceStatus({}))).toEqual({
      id: '20261207-101500-00001',
      state: 'INPROGRESS',
      progress: 42,
      startTime: '2026-12-07T10:15:00.000Z',
      endTime: null,
      messages: [{ id: 'com.vmware.backup.running', message: 'Backup is running', args: ['vc-01', '7'] }],
    });
  });

  it('passes on the fields a newer appliance adds, camelCased, nested ones too', () => {
    const job = toJob(applianceStatus({ location_type: 'SFTP', size: 2048, timings: { data_transfer_rate: 9 } }));
    expect(job.locationType).toBe('SFTP');
    expect(job.size).toBe(2048);
    expect(job.timings).toEqual({ dataTransferRate: 9 });
    expect(job).not.toHaveProperty('location_type');
  });

  it('keeps the documented fields when an extra one has the same name once camelCased', () => {
    // `startTime` and `endTime` as the appliance's own extra keys: the typed values win, never the extra text.
    const job = toJob(applianceStatus({ startTime: 'not a time', endTime: 'not a time', end_time: 7 }));
    expect(job.startTime).toBe('2026-12-07T10:15:00.000Z');
    expect(job.endTime).toBeNull();
  });

  it('lists the extra fields before the documented ones, as the answers always have', () => {
    expect(Object.keys(toJob(applianceStatus({ location_type: 'SFTP' })))).toEqual([
      'locationType',
      'id',
      'state',
      'progress',
      'startTime',
      'endTime',
      'messages',
    ]);
  });
});
