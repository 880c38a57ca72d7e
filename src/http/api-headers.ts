import { ApiHeader } from '@nestjs/swagger';

/**
 * OpenAPI descriptions of the headers portals program against, in one place. X-Request-Id is on every operation and
 * response, so buildOpenApiDocument adds it to all of them rather than each controller.
 */

/**
 * The form of an Idempotency-Key, once for the check and the contract: 1–255 printable ASCII characters (the IETF
 * draft "The Idempotency-Key HTTP Header Field" leaves the form to us).
 */
export const IDEMPOTENCY_KEY_FORM = { minLength: 1, maxLength: 255, characters: '\\x20-\\x7E' } as const;
export const IDEMPOTENCY_KEY_PATTERN = new RegExp(
  `^[${IDEMPOTENCY_KEY_FORM.characters}]{${IDEMPOTENCY_KEY_FORM.minLength},${IDEMPOTENCY_KEY_FORM.maxLength}}$`,
);

/** Run routes: the same key within the retention window returns the first answer instead of running again. */
export const ApiIdempotencyKey = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'A unique value per intended run (e.g. a UUID). Sent again with the same request within idempotency.ttlHours, ' +
      'it returns the first answer (with Idempotent-Replayed: true) instead of starting another backup; with a ' +
      'different request it is a 422 IDEMPOTENCY_KEY_REUSED, while the first is still running a 409 ' +
      'IDEMPOTENCY_REQUEST_IN_PROGRESS.',
    schema: {
      type: 'string',
      minLength: IDEMPOTENCY_KEY_FORM.minLength,
      maxLength: IDEMPOTENCY_KEY_FORM.maxLength,
      pattern: `^[${IDEMPOTENCY_KEY_FORM.characters}]+$`,
      // No example: Swagger UI fills examples in, and one key on every try would make each later one a 422.
    },
  });

export const IDEMPOTENT_REPLAYED = {
  description: 'Present when this answer is the stored answer to an earlier request with the same Idempotency-Key',
  schema: { type: 'string' as const, enum: ['true'] },
};

export const LOCATION = {
  description: 'The job: /appliances/{applianceId}/backups/jobs/{jobId}',
  required: true,
  schema: {
    type: 'string' as const,
    format: 'uri-reference',
    example: '/appliances/vc-a/backups/jobs/20261126-120000-00000001',
  },
};

export const REQUEST_ID_HEADER = 'X-Request-Id';
export const REQUEST_ID_PARAMETER = {
  name: REQUEST_ID_HEADER,
  in: 'header' as const,
  required: false,
  description: 'Your correlation id (≤128 of [A-Za-z0-9._-]); otherwise a new UUID. Echoed, logged and sent upstream.',
  schema: { type: 'string' as const, pattern: '^[A-Za-z0-9._-]{1,128}$' },
};
export const REQUEST_ID_RESPONSE_HEADER = {
  description: 'The request id: yours if it was sane, else one the gateway made (also in problem documents)',
  required: true,
  schema: { type: 'string' as const, example: '3f0c9a52-4d0e-4d8e-9a51-0f3b2f8e7a11' },
};
