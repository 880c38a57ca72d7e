import { PROBLEM_TABLE, ProblemCode } from './problem-codes.js';

export interface FieldError {
  field: string;
  message: string;
}

/** What the appliance said, as far as a caller may see it. */
export interface UpstreamSummary {
  status: number;
  errorType?: string;
  messages: { id: string; message: string; args: string[] }[];
}

export interface GatewayErrorDetails {
  appliance?: string;
  /** The backup target (`scheme://host:port`) a refusal is about (TARGET_BUSY). */
  target?: string;
  errors?: FieldError[];
  upstream?: UpstreamSummary;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /**
   * The backup may have started although we report a failure (a timeout, a lost connection, an answer that is not
   * the appliance's own): the caller is told to check before running it again, and the audit trail says `unknown`.
   */
  mayHaveStarted?: boolean;
  cause?: unknown;
}

/**
 * Every failure we report is one of these, carried to the edge and turned into a problem
 * document by ProblemFilter. Services and the appliance client throw them; nobody builds error bodies.
 * `detail` must never contain a secret: it goes to callers verbatim.
 */
export class GatewayError extends Error {
  readonly status: number;

  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly details: GatewayErrorDetails = {},
  ) {
    super(`${code}: ${detail}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GatewayError';
    this.status = PROBLEM_TABLE[code].status;
  }
}
