/**
 * Text as it can be hashed, stored and read back unchanged by every store we write to.
 *
 * A JavaScript string may hold what no database keeps: a lone UTF-16 surrogate (from JSON's `"\ud800"` escape, or
 * a string cut between the two halves of an emoji) is written by SQLite and PostgreSQL drivers as U+FFFD, and
 * PostgreSQL refuses U+0000 in `text` outright. Hashing the string as received and storing something else breaks a
 * hash chain for good, so such text is made canonical first: well-formed (each lone surrogate becomes U+FFFD, as
 * the drivers would do), U+0000 replaced by U+FFFD, and at most `maxLength` UTF-16 code units, never ending in the
 * first half of a surrogate pair.
 */
export function canonicalText(value: string, maxLength: number): string {
  let text = value.toWellFormed();
  if (text.includes('\u0000')) text = text.replaceAll('\u0000', '\uFFFD');
  if (text.length <= maxLength) return text;
  const end = isHighSurrogate(text.charCodeAt(maxLength - 1)) ? maxLength - 1 : maxLength;
  return text.slice(0, Math.max(end, 0));
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Text without C0 controls (tab and line breaks aside) or DEL. Request DTOs use IsDisplaySafeText instead
 * (display-safe-text.ts): it refuses these, and C1 controls and bidirectional formatting characters as well.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/;

/**
 * A vAPI message argument as text: a string as it is, anything else as its JSON. Not `String(arg)`: an appliance's
 * `{"toString": "x"}` makes that throw. A JSON-parsed value always has a JSON form.
 */
export function vapiArgText(arg: unknown): string {
  return typeof arg === 'string' ? arg : (JSON.stringify(arg) ?? '');
}
