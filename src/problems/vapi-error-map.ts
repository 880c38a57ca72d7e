import { canonicalText, vapiArgText } from '../common/text.js';
import { ifMayHaveStarted, type VapiOperation } from './appliance-errors.js';
import { GatewayError, UpstreamSummary } from './gateway-error.js';
import { ProblemCode } from './problem-codes.js';

/**
 * vAPI `error_type` → our code. Mapped on `error_type` first because several meanings share HTTP 400
 * (docs/vapi-notes.md); `NOT_FOUND` means the operation's own "not found" (schedule, job). Anything else the
 * appliance refuses is APPLIANCE_REJECTED.
 */
const BY_ERROR_TYPE: Record<string, ProblemCode | 'operation not found'> = {
  NOT_FOUND: 'operation not found',
  FEATURE_IN_USE: 'BACKUP_IN_PROGRESS',
  UNAUTHENTICATED: 'APPLIANCE_AUTH_FAILED',
  UNAUTHORIZED: 'APPLIANCE_PERMISSION_DENIED',
  SERVICE_UNAVAILABLE: 'APPLIANCE_UNAVAILABLE',
  TIMED_OUT: 'APPLIANCE_TIMEOUT',
  ERROR: 'APPLIANCE_ERROR',
  INTERNAL_SERVER_ERROR: 'APPLIANCE_ERROR',
  OPERATION_NOT_FOUND: 'APPLIANCE_ERROR',
};

/** Old appliances may omit `error_type`: fall back to the HTTP status. */
function byStatus(status: number): ProblemCode | 'operation not found' {
  if (status === 401) return 'APPLIANCE_AUTH_FAILED';
  if (status === 403) return 'APPLIANCE_PERMISSION_DENIED';
  if (status === 404) return 'operation not found';
  if (status === 503) return 'APPLIANCE_UNAVAILABLE';
  if (status === 504) return 'APPLIANCE_TIMEOUT';
  if (status >= 400 && status < 500) return 'APPLIANCE_REJECTED';
  return 'APPLIANCE_ERROR';
}

/** The problem code of a vAPI error answer to `operation`. */
export function classifyVapiError(
  status: number,
  errorType: string | undefined,
  notFound: VapiOperation['notFound'],
): ProblemCode {
  let code: ProblemCode | 'operation not found';
  if (errorType !== undefined && Object.hasOwn(BY_ERROR_TYPE, errorType)) code = BY_ERROR_TYPE[errorType];
  else if (errorType !== undefined && status >= 400 && status < 500) code = 'APPLIANCE_REJECTED';
  else code = byStatus(status);
  return code === 'operation not found' ? notFound : code;
}

/** Retry-After we suggest when the appliance is unavailable and said nothing better. */
const RETRY_AFTER_SECONDS = 30;

const SESSION_LIMIT_MESSAGE = 'com.vmware.vapi.endpoint.failedToLoginMaxUserSessionCountReached';

/**
 * Turns an appliance's error answer into the GatewayError a caller sees. Only a typed vAPI error (a JSON object
 * with `error_type` or a `messages` stack) is the appliance's own refusal; anything else (an HTML 502 from a proxy
 * in front of it, an empty body) may have come after the appliance started the work, so a run answered that way
 * may have started a backup.
 */
export function vapiErrorToGatewayError(status: number, body: unknown, operation: VapiOperation): GatewayError {
  const upstream = summarizeUpstream(status, body);
  const code = classifyVapiError(status, upstream.errorType, operation.notFound);
  const said = upstream.messages[0]?.message;
  const { hint, mayHaveStarted } = ifMayHaveStarted(operation, !isTypedVapiError(body));
  const suffix = said ? `: ${said}` : ` (HTTP ${status}${upstream.errorType ? ` ${upstream.errorType}` : ''})`;
  let detail = `Appliance ${operation.appliance} refused to ${operation.description}${suffix}${hint}`;
  if (upstream.messages.some((m) => m.id === SESSION_LIMIT_MESSAGE)) {
    detail = `Appliance ${operation.appliance} has reached its limit of concurrent API sessions; other tools are holding sessions open. Retry later or ask its administrator to end idle sessions.`;
  }
  return new GatewayError(code, detail, {
    appliance: operation.appliance,
    upstream,
    retryAfter: code === 'APPLIANCE_UNAVAILABLE' ? RETRY_AFTER_SECONDS : undefined,
    mayHaveStarted,
  });
}

/** vAPI's std error body (Std_Errors_Error): `error_type`, or at least its `messages` stack on old appliances. */
function isTypedVapiError(body: unknown): boolean {
  return isRecord(body) && (typeof body.error_type === 'string' || Array.isArray(body.messages));
}

/**
 * Keeps only what a caller may see of a vAPI error body: type and the message stack, bounded and as plain text. The
 * body is whatever answered in the appliance's name (up to 1 MiB), so nothing in it is trusted to be short, printable
 * or even convertible to a string (`{"toString": "x"}` makes `String()` throw).
 */
export function summarizeUpstream(status: number, body: unknown): UpstreamSummary {
  const record = isRecord(body) ? body : {};
  const errorType = typeof record.error_type === 'string' ? upstreamText(record.error_type, 100) : undefined;
  const messages = Array.isArray(record.messages)
    ? record.messages
        .filter(isRecord)
        .slice(0, MAX_MESSAGES)
        .map((m) => ({
          id: typeof m.id === 'string' ? upstreamText(m.id, 200) : '',
          message: typeof m.default_message === 'string' ? upstreamText(m.default_message, 1000) : '',
          args: Array.isArray(m.args)
            ? m.args.slice(0, MAX_ARGS).map((arg) => upstreamText(vapiArgText(arg), 200))
            : [],
        }))
    : [];
  return { status, errorType, messages };
}

const MAX_MESSAGES = 10;
const MAX_ARGS = 10;

/** Control characters (a terminal escape in a log viewer, a NUL) become U+FFFD; then canonical and cut to `max`. */
function upstreamText(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return canonicalText(value.slice(0, max * 2).replace(/[\u0000-\u001F\u007F]/g, '\uFFFD'), max);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
