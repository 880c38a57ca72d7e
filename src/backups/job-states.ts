import type { VapiJobStatus } from '../appliances/vapi-client.js';

/** A job in one of these states never changes again: its status is cached for good and nobody polls it. */
const TERMINAL = new Set(['SUCCEEDED', 'FAILED']);

export function isTerminal(status: Pick<VapiJobStatus, 'state'>): boolean {
  return TERMINAL.has(status.state);
}
