import { Injectable } from '@nestjs/common';
import type { AuditDraft } from '../audit/audit-entry.js';
import { type DraftOutbox, type OutboxMessageDraft, OutboxRouter } from '../audit/outbox.js';
import type { NotificationType } from '../config/gateway-config.js';
import { cloudEvent, EVENT_TYPES, messageId, type RunEventData } from './notification-events.js';
import { WebhookRoutes } from './webhook-routes.js';

/**
 * What a run's `completed` entry raises: for an accepted run, `run.accepted` to the webhooks that want it, and the job
 * followed to its end if any webhook wants that. Both commit with the entry (audit/outbox.ts), so a run on record is
 * announced, and a run that is not, is not.
 */
@Injectable()
export class NotificationRouter extends OutboxRouter {
  constructor(private readonly routes: WebhookRoutes) {
    super();
  }

  forCompleted(draft: AuditDraft): DraftOutbox | undefined {
    if (!this.routes.enabled) return undefined;
    if (draft.action !== 'backup.schedule.run' || draft.outcome !== 'accepted' || draft.jobId === null) {
      return undefined;
    }
    const data: RunEventData = {
      appliance: draft.appliance,
      schedule: draft.schedule,
      jobId: draft.jobId,
      requestId: draft.requestId,
      actor: {
        subject: draft.actor.subject,
        name: draft.actor.name,
        clientId: draft.actor.clientId,
        authMethod: draft.actor.authMethod,
      },
      ...(draft.fleetRequestId !== null && { fleetRunId: draft.fleetRequestId }),
      ...(draft.comment !== null && { comment: draft.comment }),
    };
    // The entry's id is the event's: one accepted run, one event, however often the draft is written.
    const event = cloudEvent({
      id: draft.id,
      source: this.routes.source,
      type: EVENT_TYPES.runAccepted,
      subject: draft.appliance,
      time: draft.time,
      data,
    });
    const messages = this.messages(EVENT_TYPES.runAccepted, draft.appliance, event.id, JSON.stringify(event));
    const wantsEnd =
      this.routes.for(EVENT_TYPES.jobSucceeded, draft.appliance).length > 0 ||
      this.routes.for(EVENT_TYPES.jobFailed, draft.appliance).length > 0;
    if (messages.length === 0 && !wantsEnd) return undefined;
    return {
      messages,
      ...(wantsEnd && { follow: { appliance: draft.appliance, jobId: draft.jobId, context: JSON.stringify(data) } }),
    };
  }

  /** One message per webhook that wants this event. */
  messages(type: NotificationType, appliance: string, eventId: string, body: string): OutboxMessageDraft[] {
    return this.routes.for(type, appliance).map((webhook) => ({
      id: messageId(eventId, webhook.id),
      eventId,
      webhook: webhook.id,
      type,
      subject: appliance,
      body,
    }));
  }
}
