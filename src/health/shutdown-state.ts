import { Injectable } from '@nestjs/common';

/** Set once SIGTERM arrives: from then on the replica reports not ready, so load balancers stop sending to it. */
@Injectable()
export class ShutdownState {
  private stopping = false;

  markShuttingDown(): void {
    this.stopping = true;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }
}
