import type { Appliance } from '../api/client';

const LABELS: Record<Appliance['status'], string> = {
  ok: 'OK',
  unreachable: 'Unreachable',
  auth_failed: 'Login failed',
  tls_error: 'TLS error',
  unknown: 'Unknown',
};

/** Colour is never the only signal: every badge says its state in words. */
export function StatusBadge({ status }: { status: Appliance['status'] }) {
  return <span class={`badge badge-${status}`}>{LABELS[status]}</span>;
}

export const APPLIANCE_STATUSES = Object.keys(LABELS) as Appliance['status'][];
export const statusLabel = (status: Appliance['status']) => LABELS[status];
