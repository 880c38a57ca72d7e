import { Injectable, Optional } from '@nestjs/common';
import { type FollowedJob, Outbox } from '../audit/outbox.js';
import { cloudEvent, EVENT_TYPES, type JobEndData, jobEndEventId, type RunEventData } from './notification-events.js';
import { NotificationRouter } from './notification-router.js';
import { WebhookDeliverer } from './webhook-deliverer.service.js';
import { WebhookRoutes } from './webhook-routes.js';

/** A job's end as the job tracker saw it (the job mapper's shape). */
export interface EndedJob {
  id: string;
  state: string;
  startTime: string | null;
  endTime: string | null;
  messages: { id: string; message: string; args: string[] }[];
}

/**
 * Where the rest of the gateway announces events that are not audit entries: a job's end (the job tracker follows
 * every accepted job), and a fleet run's completion (fleet runs in waves). Each is recorded once in the outbox, in one
 * transaction with whatever it settles, and delivered from there.
 */
@Injectable()
export class Notifications {
  constructor(
    private readonly routes: WebhookRoutes,
    private readonly router: NotificationRouter,
    private readonly deliverer: WebhookDeliverer,
    @Optional() private readonly outbox?: Outbox,
  ) {}

  /** Whether anything is announced at all (a webhook is configured, and there is an outbox to hold it). */
  get enabled(): boolean {
    return this.routes.enabled && this.outbox !== undefined;
  }

  /**
   * A followed job ended: `job.succeeded` or `job.failed` to the webhooks that want it, and the job is no longer
   * followed, in one transaction. Seen twice (two replicas), it is recorded once: the event's id is the job's.
   */
  async jobEnded(followed: FollowedJob, job: EndedJob): Promise<void> {
    if (!this.outbox) return;
    const context = JSON.parse(followed.context) as RunEventData;
    const type = job.state === 'SUCCEEDED' ? EVENT_TYPES.jobSucceeded : EVENT_TYPES.jobFailed;
    const data: JobEndData = {
      ...context,
      state: job.state,
      startTime: job.startTime,
      endTime: job.endTime,
      messages: job.messages,
    };
    const event = cloudEvent({
      id: jobEndEventId(followed.appliance, followed.jobId),
      source: this.routes.source,
      type,
      subject: followed.appliance,
      time: job.endTime ?? new Date().toISOString(),
      data,
    });
    const messages = this.router.messages(type, followed.appliance, event.id, JSON.stringify(event));
    await this.outbox.enqueue(messages, { appliance: followed.appliance, jobId: followed.jobId });
    this.deliverer.kick();
  }

  /**
   * The messages of `com.backupgateway.fleet-run.completed` for a fleet run that is ending, to be written by the
   * store in the transaction that ends it (FleetRunStore.finishFleetRun); `delivered()` once it has. The event's id is
   * the fleet run's: written twice, it is stored once. None when nothing is announced.
   */
  fleetRunCompleted(run: { id: string; schedule: string; actor: RunEventData['actor']; data: object }) {
    if (!this.enabled) return [];
    const event = cloudEvent({
      id: `fleet-run:${run.id}`,
      source: this.routes.source,
      type: EVENT_TYPES.fleetRunCompleted,
      subject: run.id,
      time: new Date().toISOString(),
      data: { fleetRunId: run.id, schedule: run.schedule, actor: run.actor, ...run.data },
    });
    // A fleet run spans appliances: only the webhooks with no tag filter hear of it.
    return this.router
      .messages(EVENT_TYPES.fleetRunCompleted, '', event.id, JSON.stringify(event))
      .map((message) => ({ ...message, subject: run.id }));
  }

  /** Messages were written to the outbox by someone else's transaction: deliver them now rather than at the next poll. */
  written(): void {
    this.deliverer.kick();
  }
}
