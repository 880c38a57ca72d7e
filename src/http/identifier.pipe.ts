import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { ID_PATTERN, ID_RULE } from '../common/identifier.js';
import { GatewayError } from '../problems/gateway-error.js';

/**
 * Path identifiers (appliance, schedule, job), checked once by one regular expression: they are forwarded in the
 * appliance's URLs, so nothing but the pattern gets through.
 */
@Injectable()
export class IdentifierPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && ID_PATTERN.test(value)) return value;
    const field = metadata.data ?? 'id';
    const message = `${field} must be ${ID_RULE}`;
    throw new GatewayError('VALIDATION_FAILED', message, { errors: [{ field, message }] });
  }
}
