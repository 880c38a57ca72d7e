/**
 * Caller-supplied text as a log field: at most `max` UTF-16 units, so that no request can make its log line (or the
 * disk under it) as large as it likes. A cut value ends in `…`; a surrogate pair is never split.
 */
export function boundedText(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}…`;
}

/** The longest request path a log line keeps: above any path the API routes (ids are at most 128 characters). */
export const LOGGED_PATH_MAX = 512;
/** A user agent beyond this says nothing more about the client. */
export const USER_AGENT_MAX = 1024;
