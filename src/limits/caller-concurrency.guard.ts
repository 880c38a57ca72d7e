import type { Socket } from 'node:net';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DECORATORS } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { EVENT_STREAM } from '../http/event-stream.js';
import { GatewayError } from '../problems/gateway-error.js';

/**
 * No caller can starve another: each caller (its CallerId) may have `limits.maxInFlightPerCaller` requests under
 * way, and `limits.maxStreamsPerCaller` job event streams open, at once; beyond that it gets 429 TOO_MANY_REQUESTS
 * with Retry-After, while everyone else is served. Streams also count against `limits.maxStreams` for the whole
 * gateway (each holds memory for its whole life): beyond that, 503 OVERLOADED with Retry-After, before the heap runs
 * out. A global guard after authentication (so the principal is known).
 * Public routes (health) are not counted.
 *
 * A slot is given back exactly once, whatever ends the request. The response's `close` covers an answer sent and a
 * client gone while its answer was being written; it never comes for an answer queued behind another on a
 * pipelined HTTP/1.1 connection whose socket is destroyed (Node only closes the response it is writing), so the
 * socket's `close` gives back every slot still held by the requests it carried.
 */
@Injectable()
export class CallerConcurrencyGuard implements CanActivate {
  private readonly requests = new Map<string, number>();
  private readonly streams = new Map<string, number>();
  /** Streams open now, every caller's. */
  private streamsOpen = 0;
  private readonly bySocket = new WeakMap<Socket, Set<() => void>>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { user?: Principal }>();
    const principal = request.user;
    if (!principal) return true;
    const socket = request.raw.socket;
    // Its client is gone already: no answer will be written, and no close will come to give a slot back.
    if (socket.destroyed) return true;
    // A route that answers with an event stream says so in its contract (@ApiProduces, read through a public key of
    // @nestjs/swagger): it takes a stream slot for its whole life. slot-release.e2e-spec.ts fails if the job event
    // stream stops saying so (it would hold a request slot instead).
    const produces = this.reflector.getAllAndOverride<string[] | undefined>(DECORATORS.API_PRODUCES, [
      context.getHandler(),
      context.getClass(),
    ]);
    const isStream = produces?.includes(EVENT_STREAM) === true;
    const counts = isStream ? this.streams : this.requests;
    const limit = isStream ? this.config.limits.maxStreamsPerCaller : this.config.limits.maxInFlightPerCaller;
    const key = principal.caller;
    const count = (counts.get(key) ?? 0) + 1;
    if (count > limit) {
      throw new GatewayError(
        'TOO_MANY_REQUESTS',
        isStream
          ? `You already hold ${limit} job event streams open; close one first.`
          : `You already have ${limit} requests under way; wait for their answers.`,
        { retryAfter: 1 },
      );
    }
    if (isStream && this.streamsOpen >= this.config.limits.maxStreams) {
      throw new GatewayError(
        'OVERLOADED',
        `The gateway holds ${this.config.limits.maxStreams} event streams open (limits.maxStreams); retry after the Retry-After delay.`,
        { retryAfter: 5 },
      );
    }
    counts.set(key, count);
    if (isStream) this.streamsOpen += 1;
    const response = http.getResponse<FastifyReply>().raw;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      if (isStream) this.streamsOpen -= 1;
      response.off('close', release);
      this.onSocketClose(socket).delete(release);
      const left = (counts.get(key) ?? 1) - 1;
      if (left === 0) counts.delete(key);
      else counts.set(key, left);
    };
    response.once('close', release);
    this.onSocketClose(socket).add(release);
    return true;
  }

  /**
   * What to give back when this socket closes: one listener per socket, however many requests it carries (a
   * listener per request would pile up on a connection pipelining past Node's max-listeners warning).
   */
  private onSocketClose(socket: Socket): Set<() => void> {
    let releases = this.bySocket.get(socket);
    if (releases === undefined) {
      const created = new Set<() => void>();
      releases = created;
      this.bySocket.set(socket, created);
      socket.once('close', () => {
        for (const release of created) release();
      });
    }
    return releases;
  }
}
