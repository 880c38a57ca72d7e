import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayConfig } from './gateway-config.js';

/** The validated configuration (injected by its class) and the logger, for every module. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: GatewayConfig, useValue: config },
        { provide: PINO_LOGGER, useValue: logger },
      ],
      exports: [GatewayConfig, PINO_LOGGER],
    };
  }
}
