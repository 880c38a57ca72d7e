import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export {
  FollowJobError,
  type FollowJobOptions,
  followJob,
  type JobStreamEvent,
  type JobUpdate,
} from './job-events.js';
export type { components, operations, paths } from './schema.js';

type Schemas = components['schemas'];
/** Every error's body (RFC 9457). Program against `code`; `title` and `detail` are for people. */
export type ProblemDocument = Schemas['ProblemDocument'];
/** The stable error codes. New codes may appear in a minor version: handle an unknown one by its HTTP status. */
export type ProblemCode = Schemas['ProblemCode'];
export type Job = Schemas['JobDto'];
export type RunAccepted = Schemas['RunAcceptedDto'];
/** A fleet run in waves (`POST /backups/runs` with `Prefer: respond-async`; `GET /backups/runs/{fleetRunId}`). */
export type FleetRun = Schemas['FleetRunStateDto'];
export type FleetRunMember = Schemas['FleetRunMemberDto'];
/** The 207 of a fleet run without `Prefer: respond-async`: one result per member. */
export type FleetRunResults = Schemas['FleetRunResultsDto'];
export type JobStatus = Schemas['JobStatusDto'];
export type Appliance = Schemas['ApplianceDto'];
/** One webhook notification and where its delivery stands (GET /notifications/deliveries). */
export type NotificationDelivery = Schemas['DeliveryDto'];
export type NotificationDeliveriesPage = Schemas['DeliveriesPageDto'];
export type {
  JobEndData,
  NotificationEvent,
  NotificationType,
  RunEventData,
} from './notification-events.js';

export type GatewayClient = Client<paths>;

/** A bearer token, or a function giving the current one (called before every request, so it can be refreshed). */
export type TokenSource = string | (() => string | Promise<string>);

export interface GatewayClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the gateway is, e.g. `https://backup-gateway.example.com`. */
  baseUrl: string;
  /** An access token from the company's OpenID provider (browsers, people). */
  token?: TokenSource;
  /** A service account's API key (servers and scripts only: never ship one to a browser). */
  apiKey?: string;
}

/**
 * A client whose every path, parameter, body, answer and problem is typed from the gateway's OpenAPI document:
 * `const { data, error } = await client.POST('/backups/schedules/{scheduleId}/run', { params: { path: { scheduleId } } })`
 * gives `data` (the 202 body) or `error` (a ProblemDocument), never both.
 */
export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const { token, apiKey, ...clientOptions } = options;
  const client = createClient<paths>(clientOptions);
  client.use({
    async onRequest({ request }) {
      if (token !== undefined) {
        request.headers.set('Authorization', `Bearer ${typeof token === 'string' ? token : await token()}`);
      }
      if (apiKey !== undefined) request.headers.set('X-API-Key', apiKey);
      return request;
    },
  });
  return client;
}
