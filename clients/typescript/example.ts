/**
 * A portal's use of the client: run the default schedule on an appliance, follow the job until it ends, and
 * handle problems by their code. Type-checked with the package (`npm run typecheck`).
 */
import { createGatewayClient, type ProblemDocument } from './src/index.js';

const client = createGatewayClient({
  baseUrl: 'https://backup-gateway.example.com',
  // Called before every request: return the portal's current access token (refreshed by your OIDC library).
  token: async () => sessionStorage.getItem('access_token') ?? '',
});

/** What to tell the person who pressed "Back up now". */
function explain(problem: ProblemDocument): string {
  switch (problem.code) {
    case 'BACKUP_IN_PROGRESS':
      return 'A backup or restore is already running on this appliance.';
    case 'SCHEDULE_NOT_FOUND':
      return 'This appliance has no such backup schedule.';
    case 'FORBIDDEN':
      return 'You may not back up this appliance.';
    default:
      // New codes may appear: fall back on the status (429/503: retry after Retry-After; other 5xx: ours).
      return problem.status >= 500 ? 'The gateway or the appliance failed; try again later.' : problem.detail;
  }
}

export async function backUpNow(applianceId: string): Promise<string> {
  const run = await client.POST('/appliances/{applianceId}/backups/schedules/{scheduleId}/run', {
    params: {
      path: { applianceId, scheduleId: 'default' },
      // One key per press of the button: a retry after a lost connection cannot start a second backup.
      header: { 'Idempotency-Key': crypto.randomUUID() },
    },
    body: { comment: 'Requested from the portal' },
  });
  if (run.error) return explain(run.error);

  let job = run.data.job;
  while (job.state === 'INPROGRESS') {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const status = await client.GET('/appliances/{applianceId}/backups/jobs/{jobId}', {
      params: { path: { applianceId, jobId: job.id } },
    });
    if (status.error) return explain(status.error);
    job = status.data.job;
  }
  return job.state === 'SUCCEEDED' ? `Backup ${job.id} succeeded.` : `Backup ${job.id} ended ${job.state}.`;
}
