/**
 * The appliance simulator answers what a real appliance answers: every kind of answer is checked against VMware's own
 * schemas (test/fixtures/vapi-schemas.json, from the vSphere 8.0.2 Swagger description), and its fault injection and
 * counters do what the gateway's tests rely on.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Ajv } from 'ajv';
import formatsModule from 'ajv-formats';
import {
  ApplianceSimulator,
  type ApplianceSimulatorOptions,
  statusForErrorType,
  type VapiErrorType,
} from '../../../tools/simulator/appliance-simulator.js';
import { otherSelfSignedCert, selfSignedCert } from '../../support/self-signed-cert.js';

// --- schemas -------------------------------------------------------------------------------------------------------

interface ResponseSpec {
  schema?: object;
}
interface SchemaFixture {
  paths: Record<string, Record<string, { responses: Record<string, ResponseSpec> }>>;
  definitions: Record<string, object>;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/vapi-schemas.json', import.meta.url), 'utf8'),
) as SchemaFixture;
const ajv = new Ajv({ strict: false, allErrors: true });
formatsModule.default(ajv); // ajv-formats is CommonJS: its default export is module.exports, the plugin is .default
ajv.addSchema({ $id: 'vapi', definitions: fixture.definitions });

const SESSION = '/api/session';
const SCHEDULES = '/api/appliance/recovery/backup/schedules';
const SCHEDULE = '/api/appliance/recovery/backup/schedules/{schedule}';
const RUN = '/api/appliance/recovery/backup/schedules/{schedule}?action=run';
const JOBS = '/api/appliance/recovery/backup/job';
const JOB = '/api/appliance/recovery/backup/job/{id}';

/** Swagger's '#/definitions/X' -> the 'vapi' schema registered above. */
function resolveRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(resolveRefs);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) =>
      key === '$ref' && typeof value === 'string' ? [key, `vapi${value}`] : [key, resolveRefs(value)],
    ),
  );
}

/**
 * Asserts that an answer is one the operation may give: a declared status validates against its declared schema; an
 * undeclared one must be an error and validates against Std_Errors_Error (VMware's 'default' response). Error bodies
 * must also carry an error_type that travels with that status.
 */
function expectConforms(operation: string, method: string, answer: Answer): void {
  const responses = fixture.paths[operation]?.[method]?.responses;
  if (responses === undefined) throw new Error(`no ${method} ${operation} in the fixture`);
  const declared = responses[String(answer.status)];
  if (declared === undefined) expect(answer.status).toBeGreaterThanOrEqual(400);
  if (declared !== undefined && declared.schema === undefined) {
    expect(answer.text).toBe(''); // e.g. 204
    return;
  }
  expect(answer.headers['content-type']).toBe('application/json');
  const schema = declared?.schema ?? { $ref: '#/definitions/VapiStdErrorsError' };
  const validate = ajv.compile(resolveRefs(schema) as object);
  if (!validate(answer.json)) {
    throw new Error(`${method} ${operation} ${answer.status}: ${ajv.errorsText(validate.errors)}\n${answer.text}`);
  }
  if (answer.status >= 400) {
    const body = answer.json as { error_type: VapiErrorType; messages: { id: string }[] };
    expect(statusForErrorType(body.error_type)).toBe(answer.status);
    expect(body.messages[0].id).toMatch(/^com\.vmware\./);
  }
}

function expectError(answer: Answer, status: number, errorType: VapiErrorType): void {
  expect(answer.status).toBe(status);
  expect((answer.json as { error_type?: string }).error_type).toBe(errorType);
}

// --- requests ------------------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: unknown;
}

interface CallOptions {
  token?: string;
  basic?: [string, string];
  body?: string;
  headers?: Record<string, string>;
}

function headersOf(options: CallOptions): Record<string, string> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['vmware-api-session-id'] = options.token;
  if (options.basic !== undefined) {
    headers.authorization = `Basic ${Buffer.from(options.basic.join(':')).toString('base64')}`;
  }
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return headers;
}

function parse(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function call(sim: ApplianceSimulator, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const res = await fetch(`${sim.url}${path}`, { method, headers: headersOf(options), body: options.body });
  const text = await res.text();
  return {
    status: res.status,
    headers: { 'content-type': res.headers.get('content-type') ?? undefined },
    text,
    json: parse(text),
  };
}

/** node:http(s), for what fetch hides: socket errors' codes, socket reuse, a custom CA. */
function rawCall(
  url: string,
  method: string,
  path: string,
  options: CallOptions & { agent?: HttpAgent; ca?: string } = {},
): Promise<Answer & { reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(
      `${url}${path}`,
      { method, headers: headersOf(options), agent: options.agent, ca: options.ca },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: parse(text),
            reusedSocket: req.reusedSocket,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const USER = 'svc@vsphere.local';
const PASSWORD = 'pw-Secret-123';

async function login(sim: ApplianceSimulator): Promise<string> {
  const answer = await call(sim, 'POST', SESSION, { basic: [USER, PASSWORD] });
  expect(answer.status).toBe(201);
  return answer.json as string;
}

function runPath(schedule = 'default'): string {
  return `/api/appliance/recovery/backup/schedules/${encodeURIComponent(schedule)}?action=run`;
}

const started: ApplianceSimulator[] = [];
async function startSimulator(options: Partial<ApplianceSimulatorOptions> = {}): Promise<ApplianceSimulator> {
  const sim = new ApplianceSimulator({ username: USER, password: PASSWORD, port: 0, ...options });
  await sim.start();
  started.push(sim);
  return sim;
}
afterAll(async () => {
  await Promise.all(started.map((sim) => sim.stop()));
});

// --- conformance ---------------------------------------------------------------------------------------------------

describe('appliance simulator: answers conform to VMware 8.0.2 schemas', () => {
  const T0 = Date.parse('2024-03-01T10:00:00.000Z');
  let now = T0;
  let sim: ApplianceSimulator;

  beforeAll(async () => {
    sim = await startSimulator({
      clock: () => now,
      jobDurationMs: 3000,
      sessionIdleMs: 60_000,
      schedules: {
        default: { parts: ['seat'], location: 'sftp://10.0.0.5/backups', enable: true },
        'weekly/full': {
          parts: ['common', 'seat'],
          location: 'nfs://10.0.0.6/vcsa',
          location_user: 'backup',
          enable: false,
          recurrence_info: { hour: 2, minute: 30, days: ['SUNDAY'] },
          retention_info: { max_count: 5 },
          fast_backup: true,
        },
      },
    });
  });
  beforeEach(() => {
    sim.faults.clear();
    sim.finishRunningJobs();
  });

  it('POST /api/session: 201 with a bare 32-hex token; bad or missing credentials 401 without the password', async () => {
    const ok = await call(sim, 'POST', SESSION, { basic: [USER, PASSWORD] });
    expect(ok.status).toBe(201);
    expectConforms(SESSION, 'post', ok);
    expect(ok.text).toMatch(/^"[0-9a-f]{32}"$/);

    for (const options of [
      { basic: [USER, 'wrong'] as [string, string] },
      { basic: ['other', PASSWORD] as [string, string] },
      {},
    ]) {
      const refused = await call(sim, 'POST', SESSION, options);
      expectError(refused, 401, 'UNAUTHENTICATED');
      expectConforms(SESSION, 'post', refused);
      expect(refused.text).not.toContain(PASSWORD);
      expect(refused.text).not.toContain('wrong');
    }
  });

  it('GET /api/session: user and times; each use refreshes last access', async () => {
    const token = await login(sim);
    now += 5000;
    const info = await call(sim, 'GET', SESSION, { token });
    expect(info.status).toBe(200);
    expectConforms(SESSION, 'get', info);
    expect(info.json).toEqual({
      user: USER,
      created_time: new Date(now - 5000).toISOString(),
      last_accessed_time: new Date(now).toISOString(),
    });
  });

  it('sessions die after the idle period, not before, and each use keeps them alive', async () => {
    const token = await login(sim);
    now += 59_000;
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(200);
    now += 59_000;
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(200);
    now += 60_001;
    const expired = await call(sim, 'GET', SCHEDULES, { token });
    expectError(expired, 401, 'UNAUTHENTICATED');
    expectConforms(SCHEDULES, 'get', expired);
  });

  it('DELETE /api/session: 204 without body, then the token is dead', async () => {
    const token = await login(sim);
    const open = sim.openSessions();
    const logout = await call(sim, 'DELETE', SESSION, { token });
    expect(logout.status).toBe(204);
    expectConforms(SESSION, 'delete', logout);
    expect(sim.openSessions()).toBe(open - 1);
    const again = await call(sim, 'DELETE', SESSION, { token });
    expectError(again, 401, 'UNAUTHENTICATED');
    expectConforms(SESSION, 'delete', again);
    expectConforms(SESSION, 'get', await call(sim, 'GET', SESSION, { token }));
  });

  it('every authenticated operation refuses a missing or unknown token with 401 UNAUTHENTICATED', async () => {
    const cases: [string, string, string][] = [
      [SCHEDULES, 'get', SCHEDULES],
      [SCHEDULE, 'get', `${SCHEDULES}/default`],
      [RUN, 'post', runPath()],
      [JOBS, 'get', JOBS],
      [JOB, 'get', `${JOBS}/20240301-100000-12345678`],
    ];
    const runsBefore = sim.counters.runs;
    for (const [operation, method, path] of cases) {
      for (const token of [undefined, 'feedfeedfeedfeedfeedfeedfeedfeed']) {
        const answer = await call(sim, method.toUpperCase(), path, { token });
        expectError(answer, 401, 'UNAUTHENTICATED');
        expectConforms(operation, method, answer);
      }
    }
    expect(sim.counters.runs).toBe(runsBefore + 2); // refused runs reached the appliance: they count
  });

  it('GET schedules: the map of schedule infos; GET one schedule, its id percent-decoded', async () => {
    const token = await login(sim);
    const list = await call(sim, 'GET', SCHEDULES, { token });
    expect(list.status).toBe(200);
    expectConforms(SCHEDULES, 'get', list);
    expect(Object.keys(list.json as object)).toEqual(['default', 'weekly/full']);

    const one = await call(sim, 'GET', `${SCHEDULES}/weekly%2Ffull`, { token });
    expect(one.status).toBe(200);
    expectConforms(SCHEDULE, 'get', one);
    expect(one.json).toMatchObject({ fast_backup: true, retention_info: { max_count: 5 } });
    expect(sim.requests.at(-1)?.path).toBe(`${SCHEDULES}/weekly%2Ffull`); // recorded as received

    const missing = await call(sim, 'GET', `${SCHEDULES}/nope`, { token });
    expectError(missing, 404, 'NOT_FOUND');
    expectConforms(SCHEDULE, 'get', missing);
  });

  it('run: 200 INPROGRESS at 0%, no end_time; progress grows with time; then SUCCEEDED at 100% with end_time', async () => {
    const token = await login(sim);
    const jobsBefore = sim.counters.jobsStarted;
    const run = await call(sim, 'POST', runPath('weekly/full'), {
      token,
      body: JSON.stringify({ comment: 'before upgrade' }),
    });
    expect(run.status).toBe(200);
    expectConforms(RUN, 'post', run);
    const status = run.json as { id: string; state: string; progress: number; start_time: string; end_time?: string };
    expect(status).toMatchObject({ state: 'INPROGRESS', progress: 0, start_time: new Date(now).toISOString() });
    expect(status).not.toHaveProperty('end_time');
    expect(status.id).toMatch(/^\d{8}-\d{6}-\d{8}$/);
    expect(status.id.startsWith('20240301-100')).toBe(true);
    expect(sim.counters.jobsStarted).toBe(jobsBefore + 1);
    expect(sim.startedJobs().at(-1)).toMatchObject({
      id: status.id,
      schedule: 'weekly/full',
      comment: 'before upgrade',
    });
    expect(sim.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/appliance/recovery/backup/schedules/weekly%2Ffull?action=run',
      json: { comment: 'before upgrade' },
    });

    now += 1500;
    const half = await call(sim, 'GET', `${JOBS}/${status.id}`, { token });
    expectConforms(JOB, 'get', half);
    expect(half.json).toMatchObject({ id: status.id, state: 'INPROGRESS', progress: 50 });
    expect(half.json).not.toHaveProperty('end_time');

    now += 1500;
    const done = await call(sim, 'GET', `${JOBS}/${status.id}`, { token });
    expectConforms(JOB, 'get', done);
    expect(done.json).toMatchObject({ state: 'SUCCEEDED', progress: 100, end_time: new Date(now).toISOString() });

    const list = await call(sim, 'GET', JOBS, { token });
    expect(list.status).toBe(200);
    expectConforms(JOBS, 'get', list);
    expect(list.json).toContain(status.id);
  });

  it('run without body: comment is empty; job ids are unique even within one second', async () => {
    const token = await login(sim);
    const first = await call(sim, 'POST', runPath(), { token });
    sim.finishRunningJobs();
    const second = await call(sim, 'POST', runPath(), { token });
    expectConforms(RUN, 'post', first);
    expectConforms(RUN, 'post', second);
    expect((first.json as { id: string }).id).not.toBe((second.json as { id: string }).id);
    expect(sim.startedJobs().at(-1)?.comment).toBe('');
  });

  it('run while a backup runs: 400 FEATURE_IN_USE, no job started', async () => {
    const token = await login(sim);
    expect((await call(sim, 'POST', runPath(), { token })).status).toBe(200);
    const jobs = sim.counters.jobsStarted;
    const busy = await call(sim, 'POST', runPath('weekly/full'), { token });
    expectError(busy, 400, 'FEATURE_IN_USE');
    expectConforms(RUN, 'post', busy);
    expect(sim.counters.jobsStarted).toBe(jobs);
  });

  it('run of an unknown schedule, unknown job: 404 NOT_FOUND', async () => {
    const token = await login(sim);
    const run = await call(sim, 'POST', runPath('nightly'), { token });
    expectError(run, 404, 'NOT_FOUND');
    expectConforms(RUN, 'post', run);
    const job = await call(sim, 'GET', `${JOBS}/20200101-000000-00000000`, { token });
    expectError(job, 404, 'NOT_FOUND');
    expectConforms(JOB, 'get', job);
  });

  it('unknown paths and methods: 404 NOT_FOUND in the vAPI shape', async () => {
    const token = await login(sim);
    for (const [method, path] of [
      ['GET', '/api/nothing'],
      ['PUT', SESSION],
      ['POST', `${SCHEDULES}/default`], // no ?action=run
      ['POST', `${SCHEDULES}/default?action=explode`],
      ['GET', `${SCHEDULES}/default/extra`],
      ['GET', `${SCHEDULES}/%E0%A4%A`], // bad percent-encoding
    ]) {
      const answer = await call(sim, method, path, { token });
      expectError(answer, 404, 'NOT_FOUND');
      expectConforms(JOB, 'get', answer); // any operation's NOT_FOUND shape
    }
  });

  it('injected error statuses conform: 500 ERROR, 503 SERVICE_UNAVAILABLE, 403 UNAUTHORIZED, 504 TIMED_OUT', async () => {
    const token = await login(sim);
    const cases: [number, VapiErrorType][] = [
      [500, 'ERROR'],
      [503, 'SERVICE_UNAVAILABLE'],
      [403, 'UNAUTHORIZED'],
      [504, 'TIMED_OUT'],
    ];
    for (const [status, errorType] of cases) {
      sim.faults.set({ kind: 'status', status, errorType, times: 2 });
      const run = await call(sim, 'POST', runPath(), { token });
      expectError(run, status, errorType);
      expectConforms(RUN, 'post', run);
      const list = await call(sim, 'GET', SCHEDULES, { token });
      expectError(list, status, errorType);
      expectConforms(SCHEDULES, 'get', list);
    }
    // errorType derived from the status when not given
    sim.faults.set({ kind: 'status', status: 503, times: 1, messageId: 'com.vmware.x.down', message: 'Down.' });
    const derived = await call(sim, 'GET', JOBS, { token });
    expectError(derived, 503, 'SERVICE_UNAVAILABLE');
    expect((derived.json as { messages: unknown[] }).messages).toEqual([
      { id: 'com.vmware.x.down', default_message: 'Down.', args: [] },
    ]);
  });

  it('sessionLimit: logins 503 SERVICE_UNAVAILABLE failedToLoginMaxUserSessionCountReached; sessions keep working', async () => {
    const token = await login(sim);
    sim.faults.set({ kind: 'sessionLimit' });
    const refused = await call(sim, 'POST', SESSION, { basic: [USER, PASSWORD] });
    expectError(refused, 503, 'SERVICE_UNAVAILABLE');
    expectConforms(SESSION, 'post', refused);
    expect((refused.json as { messages: { id: string }[] }).messages[0].id).toBe(
      'com.vmware.vapi.endpoint.failedToLoginMaxUserSessionCountReached',
    );
    expect(refused.text).not.toContain(PASSWORD);
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(200);
  });

  it('rejectCredentials: logins 401 and presented tokens die; nothing leaks the password', async () => {
    const token = await login(sim);
    const failed = sim.counters.failedLogins;
    sim.faults.set({ kind: 'rejectCredentials' });
    const refusedLogin = await call(sim, 'POST', SESSION, { basic: [USER, PASSWORD] });
    expectError(refusedLogin, 401, 'UNAUTHENTICATED');
    expectConforms(SESSION, 'post', refusedLogin);
    const refusedCall = await call(sim, 'GET', SCHEDULES, { token });
    expectError(refusedCall, 401, 'UNAUTHENTICATED');
    expectConforms(SCHEDULES, 'get', refusedCall);
    for (const answer of [refusedLogin, refusedCall]) expect(answer.text).not.toContain(PASSWORD);
    expect(sim.counters.failedLogins).toBe(failed + 1);

    sim.faults.clear();
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(401); // that token is gone for good
    await login(sim);
  });
});

// --- faults --------------------------------------------------------------------------------------------------------

describe('appliance simulator: fault injection', () => {
  it('latency delays the answer, which is otherwise normal', async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    sim.faults.set({ kind: 'latency', ms: 300, path: '/schedules' });
    const t = Date.now();
    const list = await call(sim, 'GET', SCHEDULES, { token });
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
    expect(list.status).toBe(200);
    expect(sim.counters.faultsApplied).toBe(1);
  });

  it('hang never answers; stop() still completes and frees the client', async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    sim.faults.set({ kind: 'hang' });
    const pending = fetch(`${sim.url}${JOBS}`, { headers: { 'vmware-api-session-id': token } });
    const outcome = Promise.race([
      pending.then(
        () => 'answered',
        () => 'failed',
      ),
      delay(400).then(() => 'pending'),
    ]);
    expect(await outcome).toBe('pending');
    const t = Date.now();
    await sim.stop();
    expect(Date.now() - t).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
  });

  it('reset drops the connection (ECONNRESET) after the run was counted; no job starts', async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    sim.faults.set({ kind: 'reset', path: 'action=run', method: 'POST' });
    await expect(rawCall(sim.url, 'POST', runPath(), { token })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sim.counters).toMatchObject({ runs: 1, faultedRuns: 1, jobsStarted: 0 });
    // only the run path is affected
    expect((await call(sim, 'GET', JOBS, { token })).json).toEqual([]);
  });

  it("phase 'after': the job starts, then the answer is lost", async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    sim.faults.set({ kind: 'reset', path: /action=run$/, phase: 'after', times: 1 });
    await expect(rawCall(sim.url, 'POST', runPath(), { token })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sim.counters).toMatchObject({ runs: 1, faultedRuns: 1, jobsStarted: 1 });
    const jobs = await call(sim, 'GET', JOBS, { token });
    expect(jobs.json).toEqual([sim.startedJobs()[0].id]);
    expect(sim.faults.active()).toEqual([]); // times: 1 used up
    expectError(await call(sim, 'POST', runPath(), { token }), 400, 'FEATURE_IN_USE');
  });

  it('a 500 on the run path counts the run, starts nothing, and leaves other paths alone', async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    sim.faults.set({ kind: 'status', status: 500, errorType: 'ERROR', path: '?action=run' });
    expectError(await call(sim, 'POST', runPath(), { token }), 500, 'ERROR');
    expectError(await call(sim, 'POST', runPath(), { token }), 500, 'ERROR');
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(200);
    expect(sim.counters).toMatchObject({ runs: 2, faultedRuns: 2, jobsStarted: 0, scheduleLists: 1 });
  });

  it('malformed: 200 application/json with a truncated body', async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    sim.faults.set({ kind: 'malformed', method: 'GET', times: 1 });
    const answer = await call(sim, 'GET', JOBS, { token });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.text).toBe('{"id": ');
    expect(() => JSON.parse(answer.text)).toThrow();
    expect((await call(sim, 'GET', JOBS, { token })).json).toEqual([]);
  });

  it('status with a raw body (a proxy page) and with no error_type (old appliances)', async () => {
    const sim = await startSimulator();
    sim.faults.set({
      kind: 'status',
      status: 502,
      rawBody: '<html>Bad Gateway</html>',
      contentType: 'text/html',
      times: 1,
    });
    const page = await call(sim, 'POST', SESSION, { basic: [USER, PASSWORD] });
    expect(page).toMatchObject({
      status: 502,
      text: '<html>Bad Gateway</html>',
      headers: { 'content-type': 'text/html' },
    });
    sim.faults.set({ kind: 'status', status: 500, errorType: null, times: 1 });
    const old = await call(sim, 'POST', SESSION, { basic: [USER, PASSWORD] });
    expect(old.status).toBe(500);
    expect(old.json).not.toHaveProperty('error_type');
    expect(sim.counters).toMatchObject({ loginAttempts: 2, failedLogins: 2, logins: 0 });
  });

  it('times, method and path scopes; set() replaces, add() accumulates, clear() removes', async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    sim.faults.set({ kind: 'status', status: 503, times: 2, method: 'get', path: /\/job$/ });
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(200);
    expect((await call(sim, 'GET', JOBS, { token })).status).toBe(503);
    expect((await call(sim, 'GET', JOBS, { token })).status).toBe(503);
    expect((await call(sim, 'GET', JOBS, { token })).status).toBe(200);

    sim.faults.add({ kind: 'status', status: 500, path: JOBS });
    sim.faults.add({ kind: 'status', status: 403, path: SCHEDULES });
    expect((await call(sim, 'GET', JOBS, { token })).status).toBe(500);
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(403);
    sim.faults.set({ kind: 'status', status: 403, path: SCHEDULES });
    expect((await call(sim, 'GET', JOBS, { token })).status).toBe(200);
    sim.faults.clear();
    expect((await call(sim, 'GET', SCHEDULES, { token })).status).toBe(200);
  });

  it('maxSessions: the appliance itself refuses logins beyond its limit until a session ends', async () => {
    const sim = await startSimulator({ maxSessions: 2 });
    const first = await login(sim);
    await login(sim);
    const refused = await call(sim, 'POST', SESSION, { basic: [USER, PASSWORD] });
    expectError(refused, 503, 'SERVICE_UNAVAILABLE');
    expectConforms(SESSION, 'post', refused);
    expect((await call(sim, 'DELETE', SESSION, { token: first })).status).toBe(204);
    await login(sim);
  });
});

// --- counters and helpers ------------------------------------------------------------------------------------------

describe('appliance simulator: counters and helpers', () => {
  it('counts each operation; the counters object is live; resetCounters zeroes it', async () => {
    const sim = await startSimulator();
    const counters = sim.counters;
    const token = await login(sim);
    await call(sim, 'POST', SESSION, { basic: [USER, 'bad'] });
    await call(sim, 'GET', SESSION, { token });
    await call(sim, 'GET', SCHEDULES, { token });
    await call(sim, 'GET', `${SCHEDULES}/default`, { token });
    const run = await call(sim, 'POST', runPath(), { token });
    await call(sim, 'GET', JOBS, { token });
    await call(sim, 'GET', `${JOBS}/${(run.json as { id: string }).id}`, { token });
    await call(sim, 'GET', JOBS);
    await call(sim, 'GET', '/nothing');
    await call(sim, 'DELETE', SESSION, { token });
    expect(counters).toEqual({
      requests: 11,
      loginAttempts: 2,
      logins: 1,
      failedLogins: 1,
      logouts: 1,
      sessionGets: 1,
      rejectedSessions: 1,
      runs: 1,
      faultedRuns: 0,
      jobsStarted: 1,
      jobGets: 1,
      jobLists: 2,
      scheduleLists: 1,
      scheduleGets: 1,
      faultsApplied: 0,
      maxConcurrentLogins: 1,
    });
    expect(sim.requests).toHaveLength(11);
    sim.resetCounters();
    expect(counters.requests).toBe(0);
    expect(sim.counters).toBe(counters);
  });

  it('records every request with its headers and raw body', async () => {
    const sim = await startSimulator();
    const token = await login(sim);
    await call(sim, 'POST', runPath(), { token, body: '{"comment":"x"}', headers: { 'x-request-id': 'req-42' } });
    expect(sim.requests.at(-1)).toMatchObject({
      method: 'POST',
      body: '{"comment":"x"}',
      json: { comment: 'x' },
      headers: { 'x-request-id': 'req-42', 'vmware-api-session-id': token },
    });
    sim.clearRequests();
    expect(sim.requests).toHaveLength(0);
  });

  it('maxConcurrentLogins: logins in flight at once', async () => {
    const sim = await startSimulator();
    sim.faults.set({ kind: 'latency', ms: 200, path: SESSION, method: 'POST' });
    await Promise.all([login(sim), login(sim), login(sim)]);
    expect(sim.counters.maxConcurrentLogins).toBe(3);
    expect(sim.openSessions()).toBe(3);
  });

  it('expireAllSessions: every token answers 401 next; a new login works', async () => {
    const sim = await startSimulator();
    const tokens = await Promise.all([login(sim), login(sim)]);
    sim.expireAllSessions();
    expect(sim.openSessions()).toBe(0);
    for (const token of tokens) expectError(await call(sim, 'GET', JOBS, { token }), 401, 'UNAUTHENTICATED');
    await login(sim);
    expect(sim.openSessions()).toBe(1);
  });

  it('finishRunningJobs ends running jobs (SUCCEEDED or FAILED); jobOutcome sets how jobs end', async () => {
    const sim = await startSimulator({ jobDurationMs: 60_000 });
    const token = await login(sim);
    const first = (await call(sim, 'POST', runPath(), { token })).json as { id: string };
    expect(sim.finishRunningJobs('FAILED')).toBe(1);
    const failed = await call(sim, 'GET', `${JOBS}/${first.id}`, { token });
    expectConforms(JOB, 'get', failed);
    expect(failed.json).toMatchObject({ state: 'FAILED' });
    expect(failed.json).toHaveProperty('end_time');

    const quick = await startSimulator({ jobDurationMs: 0, jobOutcome: 'FAILED' });
    const quickToken = await login(quick);
    const run = await call(quick, 'POST', runPath(), { token: quickToken });
    expect(run.json).toMatchObject({ state: 'INPROGRESS', progress: 0 }); // the run answer is the job at its start
    const after = await call(quick, 'GET', `${JOBS}/${(run.json as { id: string }).id}`, { token: quickToken });
    expect(after.json).toMatchObject({ state: 'FAILED' });
  });

  it('honours keep-alive', async () => {
    const sim = await startSimulator();
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await rawCall(sim.url, 'POST', SESSION, { basic: [USER, PASSWORD], agent });
      const second = await rawCall(sim.url, 'GET', SESSION, { token: first.json as string, agent });
      expect(second.status).toBe(200);
      expect(second.reusedSocket).toBe(true);
      expect(second.headers.connection).toBe('keep-alive');
    } finally {
      agent.destroy();
    }
  });

  it('stop() then start() restarts on the same port with every session evicted', async () => {
    const sim = await startSimulator();
    const url = sim.url;
    const token = await login(sim);
    await sim.stop();
    await sim.start();
    expect(sim.url).toBe(url);
    expectError(await call(sim, 'GET', JOBS, { token }), 401, 'UNAUTHENTICATED');
  });
});

describe('appliance simulator: TLS', () => {
  it('serves HTTPS with the given certificate; a client trusting another certificate refuses it', async () => {
    const sim = await startSimulator({ tls: selfSignedCert() });
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await rawCall(sim.url, 'POST', SESSION, { basic: [USER, PASSWORD], ca: selfSignedCert().cert });
    expect(ok.status).toBe(201);
    expectConforms(SESSION, 'post', ok);
    await expect(
      rawCall(sim.url, 'POST', SESSION, { basic: [USER, PASSWORD], ca: otherSelfSignedCert().cert }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/) });
    // a reset behind TLS is still a reset
    sim.faults.set({ kind: 'reset', times: 1 });
    await expect(
      rawCall(sim.url, 'GET', JOBS, { token: ok.json as string, ca: selfSignedCert().cert }),
    ).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sim.counters.loginAttempts).toBe(1); // the refused handshake never reached the API
  });
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
