import { Controller, Get, Headers, Query, StreamableFile } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { accessPolicy } from '../auth/access-policy.js';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { NoQuery } from '../http/no-query.dto.js';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import type { AuditFilter } from './audit-entry.js';
import { AuditReader } from './audit-reader.js';
import { AuditEventDto, AuditEventsPageDto } from './dto/audit-event.dto.js';
import { AuditEventsQuery } from './dto/audit-events-query.dto.js';
import { AuditVerifyResultDto } from './dto/audit-verify.dto.js';

const NDJSON = 'application/x-ndjson';
const AUDIT_READ = 'audit:read';

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditReader) {}

  @Get('events')
  @RequireScope(AUDIT_READ, 'any')
  @ApiOperation({
    summary: 'Audit entries, newest first, filtered and paginated; or every match as NDJSON',
    description:
      'Newest first by `time` (when it happened), entries of the same time by `seq` (an entry written late, after an ' +
      'outage of the audit store, keeps its time and is listed there). ' +
      `With \`Accept: ${NDJSON}\` every matching entry is streamed, one JSON object a line (limit and cursor are ` +
      'ignored). A caller holding only `audit:read:{applianceId}` scopes sees those appliances only.',
    operationId: 'listAuditEvents',
  })
  @ApiProduces('application/json', NDJSON)
  @ApiExtraModels(AuditEventsPageDto, AuditEventDto)
  @ApiOkResponse({
    description: 'A page of entries (JSON), or every matching entry (NDJSON)',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(AuditEventsPageDto) } },
      [NDJSON]: { schema: { $ref: getSchemaPath(AuditEventDto) } },
    },
  })
  @ApiProblems(400, 429, 503)
  async events(
    @Query() query: AuditEventsQuery,
    @CurrentPrincipal() principal: Principal,
    @Headers('accept') accept: string | undefined,
  ): Promise<AuditEventsPageDto | StreamableFile> {
    const filter = toFilter(query, principal);
    if (wantsNdjson(accept)) {
      return new StreamableFile(await this.audit.exportNdjson(filter), { type: NDJSON });
    }
    return this.audit.events(filter, query.limit, query.cursor);
  }

  @Get('verify')
  @RequireScope(AUDIT_READ, 'all')
  @ApiOperation({
    summary: 'Walk the hash chain: ok with the count, or the first entry whose hash or link does not match',
    description:
      'The chain covers every appliance, so this needs the unscoped `audit:read`; `audit:read:{applianceId}` is not ' +
      'enough. Concurrent calls share one walk.',
    operationId: 'verifyAuditTrail',
  })
  @ApiOkResponse({ type: AuditVerifyResultDto, description: 'Sent with 200 whether or not the chain verifies' })
  @ApiProblems(429, 503)
  verify(@Query() _query: NoQuery): Promise<AuditVerifyResultDto> {
    return this.audit.verify();
  }
}

function wantsNdjson(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((type) => type.split(';')[0].trim().toLowerCase() === NDJSON);
}

/**
 * `audit:read` reads everything; `audit:read:{applianceId}` only that appliance's entries, so an appliance team's
 * token cannot read who ran backups elsewhere.
 */
function toFilter(query: AuditEventsQuery, principal: Principal): AuditFilter {
  const filter: AuditFilter = {
    appliance: query.appliance,
    actor: query.actor,
    schedule: query.schedule,
    outcome: query.outcome,
    stage: query.stage,
    since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
    until: query.until === undefined ? undefined : new Date(query.until).toISOString(),
    requestId: query.requestId,
  };
  if (query.appliance !== undefined) {
    accessPolicy.assertRoute(principal, { family: AUDIT_READ, on: 'appliance' }, query.appliance);
    return filter;
  }
  const visible = accessPolicy.visibleAppliances(principal, AUDIT_READ);
  return visible.all ? filter : { ...filter, appliances: visible.appliances };
}
