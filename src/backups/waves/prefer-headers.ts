import { ApiHeader } from '@nestjs/swagger';

/** The fleet run route's `Prefer` (RFC 7240), as the OpenAPI document describes it. */
export const ApiPrefer = () =>
  ApiHeader({
    name: 'Prefer',
    required: false,
    description:
      '`respond-async`: answer 202 at once with the fleet run, whose members wait (`queued`) and start as their ' +
      'backup target has room, instead of the 207 in which a member whose target is full is a 409 TARGET_BUSY result.',
    schema: { type: 'string', example: 'respond-async' },
  });

export const FLEET_RUN_LOCATION = {
  description: 'The fleet run: /backups/runs/{fleetRunId}',
  required: true,
  schema: {
    type: 'string' as const,
    format: 'uri-reference',
    example: '/backups/runs/6f1c2b9e-0d4a-4f6e-9a51-0f3b2f8e7a11',
  },
};

export const PREFERENCE_APPLIED = {
  description: 'respond-async: the preference was honoured (RFC 7240)',
  required: true,
  schema: { type: 'string' as const, enum: ['respond-async'] },
};
