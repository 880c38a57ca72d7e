/**
 * An error's kind for a log line: its OAuth error code (`invalid_grant`), its code (`ECONNREFUSED`) or its class
 * name, never its message, which for token and JWT errors may quote what it refused.
 */
export function reasonOf(error: unknown): string {
  const oauth = (error as { error?: unknown } | null)?.error;
  if (typeof oauth === 'string') return oauth;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}
