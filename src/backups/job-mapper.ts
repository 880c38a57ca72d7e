import type { VapiJobStatus } from '../appliances/vapi-client.js';
import { vapiArgText } from '../common/text.js';
import type { JobDto } from './dto/job.dto.js';

/**
 * vAPI BackupJobStatus (snake_case) → our job shape (camelCase). The documented fields get fixed
 * types (`endTime` null while unset, messages as {id, message, args}); anything else the appliance
 * adds is passed on with camelCased keys, so newer appliances lose nothing.
 */
export function toJob(status: VapiJobStatus): JobDto & Record<string, unknown> {
  const { id, state, progress, start_time, end_time, messages, ...rest } = status;
  // The documented fields over anything else the appliance sent. Object.assign, not an object that begins with a
  // spread: Node 20's V8 gives each of those a hidden class of its own (bench/README.md, "Objects that begin with a
  // spread"), and every status an appliance answers, polled or run, comes through here.
  return Object.assign(camelCaseKeys(rest) as Record<string, unknown>, {
    id,
    state,
    progress: typeof progress === 'number' ? progress : 0,
    startTime: typeof start_time === 'string' ? start_time : null,
    endTime: typeof end_time === 'string' ? end_time : null,
    messages: (Array.isArray(messages) ? messages : []).map((m) => ({
      id: typeof m?.id === 'string' ? m.id : '',
      message: typeof m?.default_message === 'string' ? m.default_message : '',
      args: Array.isArray(m?.args) ? m.args.map(vapiArgText) : [],
    })),
  });
}

function camelCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()),
      camelCaseKeys(item),
    ]),
  );
}
