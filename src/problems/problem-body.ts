import type { GatewayError, UpstreamSummary } from './gateway-error.js';
import { PROBLEM_TABLE, problemType } from './problem-codes.js';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId: string;
  appliance?: string;
  errors?: { field: string; message: string }[];
  upstream?: UpstreamSummary;
}

/** The RFC 9457 document for an error; ProblemFilter sends it, fleet results embed it. */
export function problemBody(error: GatewayError, instance: string, requestId: string): ProblemBody {
  const { appliance, errors, upstream } = error.details;
  return {
    type: problemType(error.code),
    title: PROBLEM_TABLE[error.code].title,
    status: error.status,
    detail: error.detail,
    instance,
    code: error.code,
    requestId,
    ...(appliance !== undefined && { appliance }),
    ...(errors !== undefined && { errors }),
    ...(upstream !== undefined && { upstream }),
  };
}
