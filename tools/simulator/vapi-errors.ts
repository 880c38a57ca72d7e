/**
 * vAPI standard errors as the appliance's `/api` endpoints send them (Std_Errors_Error), and the HTTP status each
 * `error_type` travels with. The status map follows VMware's REST programming guide for vSphere 8 (see
 * docs/vapi-notes.md, "Errors").
 */

export type VapiErrorType =
  | 'ERROR'
  | 'ALREADY_EXISTS'
  | 'ALREADY_IN_DESIRED_STATE'
  | 'CANCELED'
  | 'CONCURRENT_CHANGE'
  | 'FEATURE_IN_USE'
  | 'INTERNAL_SERVER_ERROR'
  | 'INVALID_ARGUMENT'
  | 'INVALID_ELEMENT_CONFIGURATION'
  | 'INVALID_ELEMENT_TYPE'
  | 'INVALID_REQUEST'
  | 'NOT_ALLOWED_IN_CURRENT_STATE'
  | 'NOT_FOUND'
  | 'OPERATION_NOT_FOUND'
  | 'RESOURCE_BUSY'
  | 'RESOURCE_IN_USE'
  | 'RESOURCE_INACCESSIBLE'
  | 'SERVICE_UNAVAILABLE'
  | 'TIMED_OUT'
  | 'UNABLE_TO_ALLOCATE_RESOURCE'
  | 'UNAUTHENTICATED'
  | 'UNAUTHORIZED'
  | 'UNEXPECTED_INPUT'
  | 'UNSUPPORTED'
  | 'UNVERIFIED_PEER';

export interface VapiLocalizableMessage {
  id: string;
  default_message: string;
  args: string[];
}

export interface VapiErrorBody {
  error_type?: VapiErrorType;
  messages: VapiLocalizableMessage[];
}

/** Everything not listed travels as 400 (ALREADY_EXISTS, FEATURE_IN_USE, INVALID_ARGUMENT, ...). */
const STATUS_BY_ERROR_TYPE: Partial<Record<VapiErrorType, number>> = {
  NOT_FOUND: 404,
  OPERATION_NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  UNAUTHORIZED: 403,
  CONCURRENT_CHANGE: 409,
  SERVICE_UNAVAILABLE: 503,
  TIMED_OUT: 504,
  ERROR: 500,
  INTERNAL_SERVER_ERROR: 500,
};

export function statusForErrorType(errorType: VapiErrorType): number {
  return STATUS_BY_ERROR_TYPE[errorType] ?? 400;
}

/** The inverse, for faults that give only a status: the most generic error type that travels with it. */
export function errorTypeForStatus(status: number): VapiErrorType {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'UNAUTHORIZED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONCURRENT_CHANGE';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    case 504:
      return 'TIMED_OUT';
    default:
      return status >= 500 ? 'ERROR' : 'INVALID_ARGUMENT';
  }
}

export interface VapiErrorSpec {
  status: number;
  body: VapiErrorBody;
}

export function vapiError(
  errorType: VapiErrorType,
  id: string,
  defaultMessage: string,
  args: string[] = [],
): VapiErrorSpec {
  return {
    status: statusForErrorType(errorType),
    body: { error_type: errorType, messages: [{ id, default_message: defaultMessage, args }] },
  };
}

/**
 * The errors the simulator raises by itself. Only `sessionLimit`'s id is documented (reported against public tools);
 * the other ids are our own plausible choices: clients must not depend on them, only on `error_type` and status.
 */
export const VapiErrors = {
  unauthenticated: (): VapiErrorSpec =>
    vapiError('UNAUTHENTICATED', 'com.vmware.vapi.endpoint.method.authentication.required', 'Authentication required.'),
  sessionLimit: (): VapiErrorSpec =>
    vapiError(
      'SERVICE_UNAVAILABLE',
      'com.vmware.vapi.endpoint.failedToLoginMaxUserSessionCountReached',
      'Failed to login. Maximum user session count reached.',
    ),
  httpNotFound: (): VapiErrorSpec => vapiError('NOT_FOUND', 'com.vmware.vapi.rest.httpNotFound', 'Not found.'),
  scheduleNotFound: (schedule: string): VapiErrorSpec =>
    vapiError(
      'NOT_FOUND',
      'com.vmware.appliance.recovery.backup.schedule.not_found',
      `Schedule ${schedule} does not exist.`,
      [schedule],
    ),
  jobNotFound: (id: string): VapiErrorSpec =>
    vapiError('NOT_FOUND', 'com.vmware.appliance.recovery.backup.job.not_found', `Job ${id} does not exist.`, [id]),
  backupInProgress: (): VapiErrorSpec =>
    vapiError(
      'FEATURE_IN_USE',
      'com.vmware.appliance.recovery.backup.job.in_progress',
      'A backup or restore is already in progress.',
    ),
  invalidBody: (reason: string): VapiErrorSpec =>
    vapiError('INVALID_ARGUMENT', 'com.vmware.vapi.rest.badRequest', `Invalid request body: ${reason}.`),
};
