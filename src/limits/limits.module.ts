import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CallerConcurrencyGuard } from './caller-concurrency.guard.js';

/**
 * What one caller may take of the gateway. Imported after AuthModule: global guards run in the order their modules
 * are registered, and these need the authenticated principal.
 */
@Module({
  providers: [{ provide: APP_GUARD, useClass: CallerConcurrencyGuard }],
})
export class LimitsModule {}
