/**
 * The events the gateway announces, as CloudEvents 1.0 in structured mode (`application/cloudevents+json`): the
 * envelope is the JSON body itself. Written here rather than with the `cloudevents` SDK: structured mode is a JSON
 * object with four required attributes, and the SDK would bring browser polyfills (process, util), a second JSON-schema
 * validator and uuid into the production tree for it.
 */
import { createHash } from 'node:crypto';
import type { NotificationType } from '../config/gateway-config.js';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export const EVENT_TYPES = {
  runAccepted: 'com.backupgateway.run.accepted',
  jobSucceeded: 'com.backupgateway.job.succeeded',
  jobFailed: 'com.backupgateway.job.failed',
  /** Emitted by fleet runs in waves (Notifications.fleetRunCompleted), once every member has ended. */
  fleetRunCompleted: 'com.backupgateway.fleet-run.completed',
} as const satisfies Record<string, NotificationType>;

/** Who started the run: as the audit trail names them, never how they proved it (and not their address). */
export interface EventActor {
  subject: string;
  name: string | null;
  clientId: string | null;
  authMethod: string;
}

/** What every event about one run says: the run.accepted event's `data`, repeated by the job's end. */
export interface RunEventData {
  appliance: string;
  schedule: string;
  jobId: string;
  requestId: string;
  actor: EventActor;
  /** The fleet request (or fleet run) this run is a member of. */
  fleetRunId?: string;
  comment?: string;
}

export interface JobEndData extends RunEventData {
  /** SUCCEEDED or FAILED, as the appliance reports it. */
  state: string;
  startTime: string | null;
  endTime: string | null;
  /** The appliance's messages about the job (why it failed, mostly). */
  messages: { id: string; message: string; args: string[] }[];
}

export interface CloudEvent<T> {
  specversion: '1.0';
  id: string;
  source: string;
  type: NotificationType;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
}

export function cloudEvent<T>(event: {
  id: string;
  source: string;
  type: NotificationType;
  subject: string;
  time: string;
  data: T;
}): CloudEvent<T> {
  return { specversion: '1.0', datacontenttype: 'application/json', ...event };
}

/**
 * The `webhook-id` of one event for one webhook: derived, not random, so that writing the message twice (a spooled
 * completion, two replicas seeing one job end) stores it once, and every retry carries the same id.
 */
export function messageId(eventId: string, webhook: string): string {
  return `msg_${createHash('sha256').update(`${eventId}\u0000${webhook}`).digest('base64url').slice(0, 32)}`;
}

/** A job's end is one event whoever sees it: its id is derived from the job. */
export function jobEndEventId(appliance: string, jobId: string): string {
  return `job-end:${appliance}:${jobId}`;
}
