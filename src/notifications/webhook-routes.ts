import { Injectable } from '@nestjs/common';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import { GatewayConfig, type NotificationType, type WebhookConfig } from '../config/gateway-config.js';

/** Which configured webhooks receive which events: by type (`events`, unset: all) and appliance tag (`tags`). */
@Injectable()
export class WebhookRoutes {
  constructor(
    private readonly config: GatewayConfig,
    private readonly registry: ApplianceRegistry,
  ) {}

  get enabled(): boolean {
    return this.config.notifications.webhooks.length > 0;
  }

  /** The events' `source`: the gateway's public URL. */
  get source(): string {
    return this.config.publicUrl ?? this.config.console.publicUrl ?? '';
  }

  webhook(id: string): WebhookConfig | undefined {
    return this.config.notifications.webhooks.find((webhook) => webhook.id === id);
  }

  /** The webhooks that want `type` about `appliance`. */
  for(type: NotificationType, appliance: string): WebhookConfig[] {
    return this.config.notifications.webhooks.filter(
      (webhook) => (webhook.events?.includes(type) ?? true) && this.tagged(webhook, appliance),
    );
  }

  private tagged(webhook: WebhookConfig, appliance: string): boolean {
    if (webhook.tags === undefined) return true;
    if (!this.registry.has(appliance)) return false;
    const tags = this.registry.client(appliance).config.tags;
    return webhook.tags.some((tag) => tags.includes(tag));
  }
}
