/**
 * A fresh UUID (v4) for one confirmed click of a run button, sent as `Idempotency-Key` and reused only when that same
 * click is retried, so a double click or a retry after a lost answer starts one backup. getRandomValues, not
 * randomUUID: the latter exists only in secure contexts, and a lab may serve the console over plain http.
 */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
