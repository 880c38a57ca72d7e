/**
 * The soak's traffic, one function per kind: valid runs and reads, hostile input, callers without (good) credentials,
 * and the raw-socket kinds HTTP clients will not produce (pipelining floods, trickled bodies). Every answer is
 * counted by kind and status; a 500, or an ordinary request the gateway did not answer, is a failure.
 */
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import type { SoakTally } from './soak-tally.js';

export interface SoakCallers {
  /** Tokens with backups:run, backups:read and audit:read; valid runs rotate among them. */
  runners: string[];
  /** backups:read only. */
  reader: string;
  /** audit:read only. */
  auditor: string;
  /** backups:run:{first appliance} only. */
  narrow: string;
  /** A valid token without any gateway scope. */
  nobody: string;
  /** The flooding caller's token (its own in-flight bound). */
  flooder: string;
  forged: string;
  expired: string;
  apiKey: string;
}

interface Sent {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

const JSON_TYPE = { 'content-type': 'application/json' };

export class SoakTraffic {
  private readonly agent = new Agent({ connections: 128, keepAliveTimeout: 2000 });
  private readonly host: string;
  private readonly port: number;
  private counter = 0;
  /** Jobs seen in 202 answers (newest last), for job reads and event streams. */
  private readonly jobs: { appliance: string; id: string }[] = [];

  constructor(
    private readonly gatewayUrl: string,
    private readonly appliances: string[],
    private readonly callers: SoakCallers,
    private readonly tally: SoakTally,
  ) {
    const url = new URL(gatewayUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /** A request id of our own: the audit check looks the run up by it. */
  private nextId(kind: string): string {
    this.counter++;
    return `soak-${kind}-${this.counter}`;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(Math.random() * items.length)] as T;
  }

  private bearer(token: string): Record<string, string> {
    return { authorization: `Bearer ${token}` };
  }

  /** Sends, counts the answer under `kind`, and fails the soak on a 500 or a request left unanswered. */
  async send(kind: string, sent: Sent): Promise<Answer | undefined> {
    try {
      const response = await request(`${this.gatewayUrl}${sent.path}`, {
        method: sent.method,
        headers: sent.headers,
        body: sent.body,
        dispatcher: this.agent,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      const body = await response.body.text();
      this.tally.count(kind, response.statusCode);
      if (response.statusCode === 500) {
        this.tally.fail(`${kind}: ${sent.method} ${sent.path.slice(0, 120)} → 500 ${body.slice(0, 300)}`);
      }
      return { status: response.statusCode, body, headers: response.headers };
    } catch (error) {
      this.tally.count(kind, 'client-error');
      this.tally.fail(`${kind}: ${sent.method} ${sent.path.slice(0, 120)} → ${(error as Error).message}`);
      return undefined;
    }
  }

  /** The mix the workers draw from: [kind, weight]. */
  readonly mix: [string, number, () => Promise<void>][] = [
    ['run', 14, () => this.run()],
    ['run-default-api-key', 4, () => this.runWithApiKey()],
    ['run-fleet', 3, () => this.runFleet()],
    ['read', 30, () => this.read()],
    ['read-job', 8, () => this.readJob()],
    ['job-events', 2, () => this.jobEvents()],
    ['read-audit', 4, () => this.readAudit()],
    ['invalid-input', 14, () => this.invalidInput()],
    ['unauthorized', 10, () => this.unauthorized()],
    ['forbidden', 5, () => this.forbidden()],
  ];

  async draw(): Promise<void> {
    const total = this.mix.reduce((sum, [, weight]) => sum + weight, 0);
    let point = Math.random() * total;
    for (const [, weight, send] of this.mix) {
      point -= weight;
      if (point < 0) return send();
    }
  }

  async run(): Promise<void> {
    const appliance = this.pick(this.appliances);
    const requestId = this.nextId('run');
    const answer = await this.send('run', {
      method: 'POST',
      path: `/appliances/${appliance}/backups/schedules/default/run`,
      headers: { ...this.bearer(this.pick(this.callers.runners)), ...JSON_TYPE, 'x-request-id': requestId },
      body: JSON.stringify({ comment: `soak run ${requestId} 😀` }),
    });
    if (answer?.status === 202) this.accepted(requestId, appliance, answer.body);
  }

  async runWithApiKey(): Promise<void> {
    const appliance = this.pick(this.appliances);
    const requestId = this.nextId('apikey');
    const answer = await this.send('run-default-api-key', {
      method: 'POST',
      path: `/backups/schedules/default/run?appliance=${appliance}`,
      headers: { 'x-api-key': this.callers.apiKey, 'x-request-id': requestId },
    });
    if (answer?.status === 202) this.accepted(requestId, appliance, answer.body);
  }

  async runFleet(): Promise<void> {
    const requestId = this.nextId('fleet');
    const answer = await this.send('run-fleet', {
      method: 'POST',
      path: '/backups/runs',
      headers: { ...this.bearer(this.pick(this.callers.runners)), ...JSON_TYPE, 'x-request-id': requestId },
      body: JSON.stringify({ schedule: 'default', tags: ['soak'], comment: 'soak fleet run' }),
    });
    if (answer?.status !== 207) return;
    const { results } = JSON.parse(answer.body) as {
      results: { appliance: string; status: number; job?: { id: string } }[];
    };
    for (const result of results) {
      this.tally.count('run-fleet (each appliance)', result.status);
      if (result.status === 500) this.tally.fail(`run-fleet: ${result.appliance} → 500`);
      if (result.status === 202 && result.job) {
        this.tally.acceptedRuns.push(`${requestId}.${result.appliance}`);
        this.remember(result.appliance, result.job.id);
      }
    }
  }

  private accepted(requestId: string, appliance: string, body: string): void {
    this.tally.acceptedRuns.push(requestId);
    const { job } = JSON.parse(body) as { job: { id: string } };
    this.remember(appliance, job.id);
  }

  private remember(appliance: string, id: string): void {
    this.jobs.push({ appliance, id });
    if (this.jobs.length > 50) this.jobs.shift();
  }

  async read(): Promise<void> {
    const appliance = this.pick(this.appliances);
    const path = this.pick([
      '/appliances',
      '/appliances?tag=soak',
      `/appliances/${appliance}/backups/jobs?limit=5`,
      `/appliances/${appliance}/backups/schedules`,
      '/health/ready',
      '/health/live',
    ]);
    await this.send('read', { method: 'GET', path, headers: this.bearer(this.callers.reader) });
  }

  async readJob(): Promise<void> {
    const job = this.jobs.length > 0 ? this.pick(this.jobs) : { appliance: this.appliances[0], id: 'no-such-job' };
    await this.send('read-job', {
      method: 'GET',
      path: `/appliances/${job.appliance}/backups/jobs/${job.id}`,
      headers: this.bearer(this.callers.reader),
    });
  }

  /** An event stream, followed for up to a second and then dropped, as a closed browser tab does. */
  async jobEvents(): Promise<void> {
    const job = this.jobs.length > 0 ? this.pick(this.jobs) : { appliance: this.appliances[0], id: 'no-such-job' };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 1000);
    try {
      const response = await request(`${this.gatewayUrl}/appliances/${job.appliance}/backups/jobs/${job.id}/events`, {
        method: 'GET',
        headers: this.bearer(this.callers.reader),
        dispatcher: this.agent,
        signal: abort.signal,
      });
      this.tally.count('job-events', response.statusCode);
      if (response.statusCode === 500) this.tally.fail('job-events → 500');
      await response.body.text().catch(() => undefined); // ends with the stream, or with our abort
    } catch (error) {
      if (!abort.signal.aborted) {
        this.tally.count('job-events', 'client-error');
        this.tally.fail(`job-events → ${(error as Error).message}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async readAudit(): Promise<void> {
    const path = this.pick(['/audit/events?limit=5', '/audit/events?outcome=accepted&limit=3', '/audit/verify']);
    await this.send('read-audit', { method: 'GET', path, headers: this.bearer(this.callers.auditor) });
  }

  /** Hostile or broken input from an authenticated caller: every one must be a 4xx, never a 500. */
  async invalidInput(): Promise<void> {
    const auth = this.bearer(this.pick(this.callers.runners));
    const run = `/appliances/${this.pick(this.appliances)}/backups/schedules/default/run`;
    const deep = `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`;
    const cases: Sent[] = [
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: '{"comment": "unterminated' },
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: deep },
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: '{"__proto__": {"admin": true}}' },
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: '{"constructor": {"prototype": {}}}' },
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: '{"comment": "half an emoji \\ud83d"}' },
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: '{"comment": "x", "extra": 1}' },
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: '[1, 2, 3]' },
      { method: 'POST', path: run, headers: { ...auth, ...JSON_TYPE }, body: `{"comment": "${'x'.repeat(20_000)}"}` },
      { method: 'POST', path: run, headers: { ...auth, 'content-type': 'text/plain' }, body: 'run it' },
      { method: 'POST', path: `/appliances/vc-a/backups/schedules/${'s'.repeat(600)}/run`, headers: auth },
      { method: 'POST', path: `/appliances/vc-a/backups/schedules/${'s'.repeat(200)}/run`, headers: auth },
      { method: 'POST', path: '/appliances/vc%2Fa/backups/schedules/default/run', headers: auth },
      { method: 'POST', path: '/appliances/vc-a/backups/schedules/%E0%A4%A/run', headers: auth },
      { method: 'GET', path: `/${'x'.repeat(9000)}`, headers: auth },
      { method: 'GET', path: '/appliances/vc-a/backups/jobs?limit=abc', headers: auth },
      { method: 'GET', path: '/appliances/vc-a/backups/jobs?limit=5&limit=6', headers: auth },
      { method: 'GET', path: '/audit/events?since=yesterday', headers: this.bearer(this.callers.auditor) },
      { method: 'GET', path: '/audit/events?cursor=%00%01', headers: this.bearer(this.callers.auditor) },
      { method: 'GET', path: '/appliances/does-not-exist/backups/jobs', headers: auth },
      { method: 'POST', path: '/backups/runs', headers: { ...auth, ...JSON_TYPE }, body: '{"schedule": "default"}' },
      {
        method: 'POST',
        path: '/backups/runs',
        headers: { ...auth, ...JSON_TYPE },
        body: '{"schedule": "default", "appliances": ["no-such"]}',
      },
      { method: 'PUT', path: run, headers: auth },
      { method: 'DELETE', path: '/appliances', headers: auth },
      { method: 'GET', path: '/no/such/route', headers: auth },
    ];
    await this.send('invalid-input', this.pick(cases));
  }

  async unauthorized(): Promise<void> {
    const run = `/appliances/${this.pick(this.appliances)}/backups/schedules/default/run`;
    const { forged, expired } = this.callers;
    const cases: Sent[] = [
      { method: 'POST', path: run },
      { method: 'POST', path: run, headers: this.bearer(forged) },
      { method: 'POST', path: run, headers: this.bearer(expired) },
      { method: 'POST', path: run, headers: this.bearer('not.a.token') },
      { method: 'POST', path: run, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } },
      { method: 'GET', path: '/audit/events', headers: { 'x-api-key': 'guessed-key' } },
      { method: 'GET', path: '/appliances', headers: this.bearer(`${forged.slice(0, -4)}AAAA`) },
    ];
    await this.send('unauthorized', this.pick(cases));
  }

  /** Valid credentials without the scope: 403 (for runs, an audited denial). */
  async forbidden(): Promise<void> {
    const [first, ...others] = this.appliances;
    const cases: Sent[] = [
      {
        method: 'POST',
        path: `/appliances/${this.pick(others.length > 0 ? others : [first])}/backups/schedules/default/run`,
        headers: this.bearer(this.callers.narrow),
      },
      {
        method: 'POST',
        path: `/appliances/${first}/backups/schedules/default/run`,
        headers: this.bearer(this.callers.nobody),
      },
      { method: 'GET', path: '/appliances', headers: this.bearer(this.callers.nobody) },
      { method: 'GET', path: '/audit/verify', headers: this.bearer(this.callers.reader) },
      {
        method: 'POST',
        path: '/backups/runs',
        headers: { ...this.bearer(this.callers.reader), ...JSON_TYPE },
        body: '{"schedule":"default","tags":["soak"]}',
      },
    ];
    await this.send('forbidden', this.pick(cases));
  }

  /** One caller, many requests at once: some are answered 429 (its in-flight bound), none is lost. */
  async burst(size: number): Promise<void> {
    const paths = this.appliances.flatMap((a) => [
      `/appliances/${a}/backups/jobs?limit=20`,
      `/appliances/${a}/backups/schedules`,
    ]);
    await Promise.all(
      Array.from({ length: size }, (_, i) =>
        this.send('flood-burst', {
          method: 'GET',
          path: paths[i % paths.length] as string,
          headers: this.bearer(this.callers.flooder),
        }),
      ),
    );
  }

  /** `count` requests written back to back on one connection before reading anything (HTTP/1.1 pipelining). */
  async pipeline(count: number): Promise<void> {
    const auth = `authorization: Bearer ${this.callers.flooder}\r\n`;
    const one = `GET /appliances/${this.appliances[0]}/backups/schedules HTTP/1.1\r\nhost: soak\r\n${auth}\r\n`;
    const answered = (text: string) => (text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length >= count;
    const text = await this.raw(one.repeat(count), 15_000, undefined, answered);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    for (const status of statuses) this.tally.count('flood-pipeline', status);
    // The gateway may close the connection once the caller exceeds its bound; what was not answered was refused.
    for (let i = statuses.length; i < count; i++) this.tally.count('flood-pipeline', 'closed');
    if (statuses.includes(500)) this.tally.fail('flood-pipeline → 500');
  }

  /** A run whose body trickles in a byte at a time: the gateway must cut it off (408), not wait for it. */
  async trickle(intervalMs: number, maxMs: number): Promise<void> {
    const body = '{"comment":"slow client"}';
    const head =
      `POST /appliances/${this.appliances[0]}/backups/schedules/default/run HTTP/1.1\r\nhost: soak\r\n` +
      `authorization: Bearer ${this.pick(this.callers.runners)}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\n\r\n`;
    const text = await this.raw(head, maxMs, (socket) => {
      let sent = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= body.length) return clearInterval(timer);
        socket.write(body[sent]);
        sent++;
      }, intervalMs);
      socket.once('close', () => clearInterval(timer));
    });
    const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
    this.tally.count('slow-client', status ? Number(status) : 'closed');
    if (status === '500') this.tally.fail('slow-client → 500');
  }

  /**
   * Writes `text` on a new connection, then `more` may keep writing; resolves with all that came back once the
   * connection closes, `complete` says it has all it needs, or `maxMs` passed.
   */
  private raw(
    text: string,
    maxMs: number,
    more?: (socket: Socket) => void,
    complete?: (received: string) => boolean,
  ): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect({ host: this.host, port: this.port });
      const chunks: Buffer[] = [];
      const done = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(Buffer.concat(chunks).toString('latin1'));
      };
      const timer = setTimeout(done, maxMs);
      socket.on('data', (chunk) => {
        chunks.push(chunk);
        // The last answer's body may still be on its way: give it a moment.
        if (complete?.(Buffer.concat(chunks).toString('latin1'))) setTimeout(done, 50);
      });
      socket.on('close', done);
      socket.on('error', () => undefined);
      socket.on('connect', () => {
        socket.write(text);
        more?.(socket);
      });
    });
  }
}
