import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';

export const PINO_LOGGER = Symbol('PINO_LOGGER');

/**
 * Paths pino censors wherever they appear. We never log headers or configs on purpose;
 * this is the second line of defence should someone add one.
 */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["vmware-api-session-id"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["vmware-api-session-id"]',
  'config.headers',
  'err.config',
  'err.request',
  'err.response',
];

/**
 * Structured JSON logs. Asynchronous by default (sonic-boom writes off the request's
 * critical path); `main.ts` flushes on shutdown. Tests pass their own stream to read every line.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'backup-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

/** Nest's own messages (bootstrap, route mapping) through the same pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
