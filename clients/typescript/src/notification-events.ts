/**
 * What a webhook receives from the gateway: a CloudEvent 1.0 in structured mode (`application/cloudevents+json`),
 * signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Verify the body as received
 * with the `standardwebhooks` package and the endpoint's `whsec_…` secret before trusting it; the same `webhook-id`
 * may arrive more than once (delivery is at least once), so treat it as the key that makes handling idempotent.
 */
export type NotificationType =
  | 'com.backupgateway.run.accepted'
  | 'com.backupgateway.job.succeeded'
  | 'com.backupgateway.job.failed'
  | 'com.backupgateway.fleet-run.completed';

/** What every event about one run says. */
export interface RunEventData {
  appliance: string;
  schedule: string;
  jobId: string;
  /** The request id of the run (X-Request-Id), as the audit trail records it. */
  requestId: string;
  actor: { subject: string; name: string | null; clientId: string | null; authMethod: string };
  fleetRunId?: string;
  comment?: string;
}

/** `job.succeeded` and `job.failed`: the run's data and how the job ended. */
export interface JobEndData extends RunEventData {
  state: string;
  startTime: string | null;
  endTime: string | null;
  messages: { id: string; message: string; args: string[] }[];
}

export interface NotificationEvent<T = RunEventData | JobEndData> {
  specversion: '1.0';
  id: string;
  /** The gateway's public URL. */
  source: string;
  type: NotificationType;
  /** The appliance (a fleet run: its id). */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
}
