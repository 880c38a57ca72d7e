import type { FastifyReply } from 'fastify';
import { requestContext } from '../context/request-context.js';
import { problemDocument } from '../problems/problem-document.js';
import type { FleetRunDto207 } from './dto/fleet-run.dto.js';
import type { RunAcceptedDto } from './dto/job.dto.js';
import type { RunResult } from './runs.service.js';

/** A single run's answer: 202 with the job and its Location, or the run's problem. */
export function accepted(reply: FastifyReply, schedule: string, result: RunResult): RunAcceptedDto {
  if ('error' in result) throw result.error;
  const { appliance, job } = result;
  reply.header('location', `/appliances/${encodeURIComponent(appliance)}/backups/jobs/${encodeURIComponent(job.id)}`);
  return { appliance, schedule, job, requestId: result.requestId };
}

/** A fleet run's 207: per appliance, the status and the job or problem document the single run would give. */
export function fleetResponse(schedule: string, results: RunResult[], instance: string): FleetRunDto207 {
  return {
    schedule,
    requestId: requestContext.requestId() ?? 'unknown',
    results: results.map((result) =>
      'error' in result
        ? {
            appliance: result.appliance,
            status: result.error.status,
            problem: problemDocument(result.error, instance, result.requestId),
          }
        : { appliance: result.appliance, status: 202, job: result.job },
    ),
  };
}
