import { Global, Module } from '@nestjs/common';
import { AppliancesModule } from '../appliances/appliances.module.js';
import { OutboxRouter } from '../audit/outbox.js';
import { NotificationRouter } from './notification-router.js';
import { NotificationsController } from './notifications.controller.js';
import { Notifications } from './notifications.service.js';
import { WebhookDeliverer } from './webhook-deliverer.service.js';
import { WebhookRoutes } from './webhook-routes.js';

/**
 * Job-end notifications: signed CloudEvents to the configured webhooks, through the outbox in the audit database.
 * Global: the audit recorder asks its OutboxRouter what a completion raises, and the job tracker's follower announces
 * job ends through Notifications. With no webhook configured everything here is idle, and the deliveries list empty.
 */
@Global()
@Module({
  imports: [AppliancesModule],
  controllers: [NotificationsController],
  providers: [
    WebhookRoutes,
    NotificationRouter,
    { provide: OutboxRouter, useExisting: NotificationRouter },
    Notifications,
    WebhookDeliverer,
  ],
  exports: [OutboxRouter, Notifications],
})
export class NotificationsModule {}
