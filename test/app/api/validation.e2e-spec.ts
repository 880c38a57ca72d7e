import request from 'supertest';
import { RUN_AND_READ, startWorld, World } from '../../support/fixture.js';

/** Bad input gets a clear 4xx problem and changes nothing: the appliance never hears of it. */
describe('request validation', () => {
  let world: World;
  let auth: string;

  beforeAll(async () => {
    world = await startWorld();
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
  });
  afterAll(() => world.stop());
  beforeEach(() => world.appliances['vc-a'].resetCounters());
  afterEach(() => expect(world.appliances['vc-a'].counters.runs + world.appliances['vc-a'].counters.jobGets).toBe(0));

  const post = (path: string) => request(world.gateway.url).post(path).set('authorization', auth);

  function expectProblem(response: request.Response, status: number, code: string) {
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status,
      code,
      type: expect.any(String),
      title: expect.any(String),
      detail: expect.any(String),
    });
    expect(response.body.requestId).toBe(response.headers['x-request-id']);
    expect(response.body.instance).toMatch(/^\/[^?]*$/);
  }

  it.each([
    ['/appliances/..%2F..%2Fsession/backups/schedules/default/run'],
    ['/appliances/vc-a/backups/schedules/..%2F..%2Fsession/run'],
    ['/appliances/vc-a/backups/schedules/%2E%2E/run'],
    ['/appliances/vc-a/backups/schedules/default%3Faction%3Ddelete/run'],
    ['/appliances/vc-a/backups/schedules/-leading-dash/run'],
    [`/appliances/vc-a/backups/schedules/${'x'.repeat(129)}/run`],
    ['/backups/schedules/default/run?appliance=..%2Fvc-a'],
  ])('rejects the path %s with 400 VALIDATION_FAILED', async (path) => {
    expectProblem(await post(path).send({}), 400, 'VALIDATION_FAILED');
  });

  it('rejects a job id that is not an identifier', async () => {
    const response = await request(world.gateway.url)
      .get('/appliances/vc-a/backups/jobs/..%2F..%2Fsession')
      .set('authorization', auth);
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.body.errors).toEqual([
      {
        field: 'jobId',
        message:
          'jobId must be 1 to 128 letters, digits, dots, underscores, colons or hyphens, starting with a letter or digit',
      },
    ]);
    // Said in words, once: no regular expression reaches the caller.
    expect(JSON.stringify(response.body)).not.toContain('A-Za-z');
  });

  it('rejects unknown body properties, naming them', async () => {
    const response = await post('/appliances/vc-a/backups/schedules/default/run').send({ comment: 'ok', force: true });
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.body.errors).toEqual([{ field: 'force', message: 'property force should not exist' }]);
  });

  it.each([
    ['a number', { comment: 42 }],
    ['null', { comment: null }],
    ['over 1000 characters', { comment: 'x'.repeat(1001) }],
  ])('rejects a comment that is %s', async (_what, body) => {
    const response = await post('/appliances/vc-a/backups/schedules/default/run').send(body);
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.body.errors[0].field).toBe('comment');
  });

  it('accepts a comment of exactly 1000 characters', async () => {
    await post('/appliances/vc-a/backups/schedules/default/run')
      .send({ comment: 'x'.repeat(1000) })
      .expect(202);
    world.appliances['vc-a'].finishRunningJobs();
    world.appliances['vc-a'].resetCounters();
  });

  it.each([
    ['malformed JSON', '{"comment": '],
    ['a JSON array', '["comment"]'],
    ['a JSON string', '"comment"'],
    ['prototype pollution', '{"__proto__": {"admin": true}}'],
  ])('rejects %s', async (_what, raw) => {
    const response = await post('/appliances/vc-a/backups/schedules/default/run')
      .set('content-type', 'application/json')
      .send(raw);
    expectProblem(response, 400, 'VALIDATION_FAILED');
  });

  it('rejects a body that is not JSON with 415', async () => {
    const response = await post('/appliances/vc-a/backups/schedules/default/run')
      .set('content-type', 'text/plain')
      .send('comment=hi');
    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const form = await post('/appliances/vc-a/backups/schedules/default/run').type('form').send({ comment: 'hi' });
    expectProblem(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects a body over 16 KiB with 413', async () => {
    const response = await post('/appliances/vc-a/backups/schedules/default/run').send({
      comment: 'x'.repeat(17 * 1024),
    });
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('rejects unknown query parameters', async () => {
    const response = await post('/backups/schedules/default/run?appliance=vc-a&force=1').send({});
    expectProblem(response, 400, 'VALIDATION_FAILED');
  });

  it('answers unknown routes with a 404 problem', async () => {
    const response = await request(world.gateway.url).get('/api/session').set('authorization', auth);
    expectProblem(response, 404, 'NOT_FOUND');
  });
});
