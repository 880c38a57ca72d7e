/**
 * Whether a request's `Prefer` header (RFC 7240) asks for `respond-async`: preferences are comma-separated, each a
 * token (case-insensitive) with an optional `=value` and `;` parameters; several Prefer fields are one list.
 */
export function prefersRespondAsync(header: string | string[] | undefined): boolean {
  const fields = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return fields
    .flatMap((field) => field.split(','))
    .some((preference) => preference.split(/[;=]/, 1)[0].trim().toLowerCase() === 'respond-async');
}
