import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from './logger.js';

/** The one pino logger, for every module (injected as PINO_LOGGER). */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return { module: LoggingModule, providers: [{ provide: PINO_LOGGER, useValue: logger }], exports: [PINO_LOGGER] };
  }
}
