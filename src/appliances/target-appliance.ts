import type { FastifyRequest } from 'fastify';
import { isIdentifier } from '../common/identifier.js';
import { GatewayError } from '../problems/gateway-error.js';
import type { ApplianceRegistry } from './appliance-registry.service.js';

/**
 * Which appliance a request addresses: the `applianceId` path parameter; for the short routes the
 * `?appliance=` query parameter, else `defaultAppliance`, else the only configured appliance.
 * Resolved once, by the scope guard (scopes are per appliance), and read by controllers via @TargetAppliance().
 */
export function resolveTargetAppliance(request: FastifyRequest, registry: ApplianceRegistry): string {
  const params = request.params as Record<string, string | undefined>;
  const query = request.query as Record<string, unknown> | undefined;
  const fromPath = params.applianceId;
  if (fromPath !== undefined) return checked(fromPath, 'applianceId');
  const fromQuery = query?.appliance;
  if (fromQuery !== undefined) {
    if (typeof fromQuery !== 'string') throw invalid('appliance', 'must be given once');
    return checked(fromQuery, 'appliance');
  }
  return registry.resolve();
}

function checked(id: string, field: string): string {
  if (!isIdentifier(id)) throw invalid(field, 'must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$');
  return id;
}

function invalid(field: string, message: string): GatewayError {
  return new GatewayError('VALIDATION_FAILED', `Invalid ${field}: ${message}.`, {
    errors: [{ field, message: `${field} ${message}` }],
  });
}
