/**
 * The TypeScript client (clients/typescript) against a running gateway: every value below is typed from
 * openapi.json, with no cast. `npm run lint` type-checks this file, so the type assertions fail there when the
 * document stops giving clients these types (an untyped body, a `code` that is a mere string).
 */
import { createGatewayClient, type Job, type ProblemCode } from '../../../clients/typescript/src/index.js';
import { API_KEY, RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';

/** True only when T is a union of string literals, not `string`: compile-time, like the rest of the typing. */
type IsLiteralUnion<T> = [T] extends [string] ? (string extends T ? false : true) : false;

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what}`);
  return value;
}

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());

describe('the typed client', () => {
  it('runs a schedule (202, a typed job, its Location) and reads the job it started', async () => {
    const token = await world.idp.token(RUN_AND_READ);
    const client = createGatewayClient({ baseUrl: world.gateway.url, token: () => token });

    const run = await client.POST('/appliances/{applianceId}/backups/schedules/{scheduleId}/run', {
      params: { path: { applianceId: 'vc-a', scheduleId: 'default' }, header: { 'X-Request-Id': 'portal-1' } },
    });
    expect(run.response.status).toBe(202);
    const accepted = present(run.data, 'a 202 body');
    const job: Job = accepted.job;
    expect(job.state).toBe('INPROGRESS');
    expect(accepted.requestId).toBe('portal-1');
    expect(run.response.headers.get('location')).toBe(`/appliances/vc-a/backups/jobs/${job.id}`);
    expect(world.appliances['vc-a'].requests.filter((r) => r.path.includes('action=run'))).toHaveLength(1);

    const status = await client.GET('/appliances/{applianceId}/backups/jobs/{jobId}', {
      params: { path: { applianceId: 'vc-a', jobId: job.id } },
    });
    expect(status.response.status).toBe(200);
    const read = present(status.data, 'a 200 body');
    expect(read.appliance).toBe('vc-a');
    expect(read.job.id).toBe(job.id);
    expect(['INPROGRESS', 'SUCCEEDED']).toContain(read.job.state);
    expect(read.job.progress).toBeGreaterThanOrEqual(0);
  });

  it('runs on the default appliance with an API key and a comment', async () => {
    const client = createGatewayClient({ baseUrl: world.gateway.url, apiKey: API_KEY });
    const run = await client.POST('/backups/schedules/{scheduleId}/run', {
      params: { path: { scheduleId: 'default' }, query: { appliance: 'vc-b' } },
      body: { comment: 'from the typed client' },
    });
    expect(run.response.status).toBe(202);
    expect(present(run.data, 'a 202 body').appliance).toBe('vc-b');
  });

  it('reads a problem as a typed value: error.code is the ProblemCode union from the document', async () => {
    const token = await world.idp.token(RUN_AND_READ);
    const client = createGatewayClient({ baseUrl: world.gateway.url, token });
    const { data, error, response } = await client.POST(
      '/appliances/{applianceId}/backups/schedules/{scheduleId}/run',
      { params: { path: { applianceId: 'vc-nowhere', scheduleId: 'default' } } },
    );
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    const problem = present(error, 'a problem document');
    const code: ProblemCode = problem.code;
    const typed: IsLiteralUnion<typeof problem.code> = true;
    expect(typed).toBe(true);
    expect(code).toBe('APPLIANCE_NOT_FOUND');
    expect(problem.status).toBe(404);
    expect(problem.appliance).toBe('vc-nowhere');
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('sends no credentials unless given some, and gets the 401 problem typed the same way', async () => {
    const client = createGatewayClient({ baseUrl: world.gateway.url });
    const { error, response } = await client.GET('/appliances');
    expect(response.status).toBe(401);
    expect(present(error, 'a problem document').code).toBe('UNAUTHENTICATED');
  });
});
