import { api, asProblem, type Job, type Problem } from './client';

export type JobEvent =
  | { type: 'progress' | 'end'; job: Job }
  | { type: 'error'; code: string }
  | { type: 'failed'; problem: Problem };

/**
 * Follows a job's Server-Sent Events (progress, end, error). Read with fetch rather than EventSource: EventSource
 * cannot send the X-Console-Request header the session needs, and it would reconnect forever on a refusal.
 */
export async function watchJob(
  appliance: string,
  jobId: string,
  onEvent: (event: JobEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let response: Response;
  try {
    const result = await api.GET('/appliances/{applianceId}/backups/jobs/{jobId}/events', {
      params: { path: { applianceId: appliance, jobId } },
      headers: { Accept: 'text/event-stream' },
      parseAs: 'stream',
      signal,
    });
    response = result.response;
  } catch (error) {
    if (!signal.aborted) onEvent({ type: 'failed', problem: asProblem(error) });
    return;
  }
  if (!response.ok || !response.body) {
    const body = await response.json().catch(() => undefined);
    onEvent({ type: 'failed', problem: asProblem(body, response.status) });
    return;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replaceAll('\r\n', '\n');
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        dispatch(buffer.slice(0, end), onEvent);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (error) {
    if (!signal.aborted) onEvent({ type: 'failed', problem: asProblem(error) });
  }
}

/** One SSE block: `event:` names it, `data:` lines carry JSON. */
function dispatch(block: string, onEvent: (event: JobEvent) => void): void {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return;
  const payload = JSON.parse(data.join('\n')) as { job?: Job; code?: string };
  if ((type === 'progress' || type === 'end') && payload.job) onEvent({ type, job: payload.job });
  else if (type === 'error') onEvent({ type: 'error', code: payload.code ?? 'INTERNAL_ERROR' });
}
