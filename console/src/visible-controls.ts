/**
 * Control and bidirectional formatting characters: C0 but tab and line breaks, DEL, C1, and the bidi marks,
 * embeddings, overrides and isolates. The API refuses them in new comments and tags, but the audit trail also holds
 * identity-provider claims (`sub`, `name`) and whatever was stored before that rule, and it must never be rewritten.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * Stored text as it may be shown: each such character as a visible `\uXXXX`, so "\u202Eevil" reads as what it is
 * instead of "live", and nothing hides or reorders what comes after it. Tab and line breaks stay: they move no
 * character out of its place, and comments may legitimately hold them.
 */
export function showControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}
