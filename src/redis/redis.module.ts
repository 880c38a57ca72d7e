import { Global, Module } from '@nestjs/common';
import { RedisConnection } from './redis-connection.js';

/** The shared Redis connection (or none), for every module that shares state between replicas. */
@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
