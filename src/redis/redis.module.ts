import { Global, Module } from '@nestjs/common';
import { GatewayConfig } from '../config/gateway-config.js';
import { connectRedis, REDIS_CLIENT, SharedState } from './shared-state.js';

/**
 * What replicas share (SharedState: on Redis with `redis.url`, else each replica alone), for every module that
 * shares state. The Redis connection is SharedState's own: no module reaches it any other way.
 */
@Global()
@Module({
  providers: [{ provide: REDIS_CLIENT, inject: [GatewayConfig], useFactory: connectRedis }, SharedState],
  exports: [SharedState],
})
export class RedisModule {}
