import type { components } from './schema.js';

type Job = components['schemas']['JobDto'];
type ProblemDocument = components['schemas']['ProblemDocument'];

/** What a job's event stream carries (`GET /appliances/{applianceId}/backups/jobs/{jobId}/events`). */
export type JobStreamEvent =
  | { type: 'progress'; data: { appliance: string; job: Job } }
  | { type: 'end'; data: { appliance: string; job: Job } }
  /** The gateway could not read the job this time (the appliance did not answer...); the stream ends after it. */
  | { type: 'error'; data: { appliance: string; code: string } };

/** A job update as followJob reports it: every change of state or progress, then the end. */
export type JobUpdate = { type: 'progress' | 'end'; job: Job };

export interface FollowJobOptions {
  /** Where the gateway is; `''` for the page's own origin. */
  baseUrl: string;
  applianceId: string;
  jobId: string;
  /** Headers for each request, asked again before each (a bearer token can be refreshed meanwhile). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** `same-origin` for a session cookie (the console); portals send a bearer token in `headers`. */
  credentials?: RequestInit['credentials'];
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onUpdate(update: JobUpdate): void;
  /** Told before each new attempt after a stream ended early or could not be opened (a UI can say "reconnecting"). */
  onReconnect?(attempt: number, reason: string): void;
  /** Wait before reconnection `attempt` (1, 2, ...): 1 s doubling up to 15 s unless given. */
  retryDelayMs?(attempt: number): number;
}

/** followJob gave up: the gateway refused for good (401, 403, 404...), with its problem document. */
export class FollowJobError extends Error {
  override readonly name = 'FollowJobError';

  constructor(
    readonly status: number,
    readonly problem: ProblemDocument | undefined,
  ) {
    super(problem ? `${problem.code}: ${problem.detail}` : `the gateway answered ${status}`);
  }
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED']);

/**
 * Follows a job to its end over its event stream with fetch (browsers' EventSource cannot send an Authorization
 * header), and resolves with the ended job. The gateway ends a stream with an `error` event when it cannot read the
 * job once (the appliance did not answer): then, and whenever the connection drops, this waits, reads the job's
 * state with a plain GET (so a job that ended meanwhile is reported as ended, never left "running"), and reconnects.
 * Gives up only on a final refusal (a 4xx other than 429: FollowJobError) or when `signal` aborts.
 */
export async function followJob(options: FollowJobOptions): Promise<Job> {
  const { applianceId, jobId, signal } = options;
  const path = `${options.baseUrl}/appliances/${encodeURIComponent(applianceId)}/backups/jobs/${encodeURIComponent(jobId)}`;
  const delay = options.retryDelayMs ?? ((attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 15_000));
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      await sleep(delay(attempt), signal);
      const current = await request(options, path, 'application/json');
      if (current.ok) {
        const { job } = (await current.json()) as { job: Job };
        if (TERMINAL.has(job.state)) {
          options.onUpdate({ type: 'end', job });
          return job;
        }
        options.onUpdate({ type: 'progress', job });
      } else {
        await refusal(current);
      }
    }
    const stream = await request(options, `${path}/events`, 'text/event-stream');
    if (!stream.ok || !stream.body) {
      await refusal(stream);
      options.onReconnect?.(attempt + 1, `the stream could not be opened (${stream.status})`);
      continue;
    }
    const ended = await readStream(stream.body, options);
    if (ended) return ended;
    options.onReconnect?.(attempt + 1, 'the stream ended before the job did');
  }
}

/** The job when the stream said `end`; undefined when it stopped early (an `error` event, a dropped connection). */
async function readStream(body: ReadableStream<Uint8Array>, options: FollowJobOptions): Promise<Job | undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event?.type === 'error') return undefined;
        if (event === undefined) continue;
        options.onUpdate({ type: event.type, job: event.data.job });
        if (event.type === 'end') return event.data.job;
      }
    }
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return undefined; // the connection dropped: reconnect
  } finally {
    reader.releaseLock();
  }
}

/** One SSE block: `event:` names it, `data:` lines carry JSON. Blocks of other types are skipped. */
export function parseEvent(block: string): JobStreamEvent | undefined {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0 || (type !== 'progress' && type !== 'end' && type !== 'error')) return undefined;
  return { type, data: JSON.parse(data.join('\n')) } as JobStreamEvent;
}

async function request(options: FollowJobOptions, url: string, accept: string): Promise<Response> {
  const headers = { ...(await options.headers?.()), Accept: accept };
  const init: RequestInit = { headers };
  if (options.signal) init.signal = options.signal;
  if (options.credentials) init.credentials = options.credentials;
  try {
    return await (options.fetch ?? fetch)(url, init);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return new Response(null, { status: 599 }); // unreachable: retried like a 503
  }
}

/** Throws FollowJobError for a final refusal; returns for what is worth retrying (429, 5xx, unreachable). */
async function refusal(response: Response): Promise<void> {
  if (response.status === 429 || response.status >= 500) return;
  const problem = (await response.json().catch(() => undefined)) as ProblemDocument | undefined;
  throw new FollowJobError(response.status, problem);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const aborted = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
