/**
 * Text from callers, identity providers and appliances, made canonical before we keep it: well-formed UTF-16
 * (a lone surrogate becomes U+FFFD, as every UTF-8 encoder would make it anyway, so hashing, storing and reading
 * back agree), no U+0000 (PostgreSQL `text` cannot hold it), and at most `maxLength` UTF-16 units without splitting
 * a surrogate pair.
 */
export function canonicalText(value: string, maxLength: number): string {
  let text = value.toWellFormed();
  if (text.includes('\u0000')) text = text.replaceAll('\u0000', '\uFFFD');
  if (text.length <= maxLength) return text;
  const end = isHighSurrogate(text.charCodeAt(maxLength - 1)) ? maxLength - 1 : maxLength;
  return text.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Free text from callers (a backup comment) may hold tabs and line breaks, never other control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/;
