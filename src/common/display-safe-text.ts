import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * Characters that make text display as something it is not, wherever it is shown later (the audit page, a log viewer,
 * a terminal, the appliance's own UI): C0 controls but tab and line breaks, DEL, C1 controls (U+0085 breaks lines in
 * some renderers, U+009B starts a terminal escape sequence), and the bidirectional formatting characters (marks,
 * embeddings, overrides, isolates): "\u202Eevil" shows as "live". A comment or a tag needs none of them: text in
 * right-to-left scripts displays right without them.
 */
const DISPLAY_UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/** The first character of `text` that would display as something else, as `U+XXXX`; undefined when there is none. */
export function firstDisplayUnsafe(text: string): string | undefined {
  const found = DISPLAY_UNSAFE.exec(text);
  return found === null ? undefined : `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Free text a caller gives us to store or show (a backup comment, a tag): a string that displays as what it is.
 * Refused as a whole rather than cleaned: what is stored and hashed in the audit trail, forwarded to the appliance
 * and shown to people is then exactly what the caller sent. The message names the character, so a caller can tell
 * an invisible one apart from their text.
 */
export function IsDisplaySafeText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDisplaySafeText',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && firstDisplayUnsafe(value) === undefined,
        defaultMessage: buildMessage((eachPrefix, args) => {
          // With `each`, class-validator hands the whole array in: name the first offending character of any item.
          const values: unknown[] = Array.isArray(args?.value) ? args.value : [args?.value];
          const found = values.map((v) => (typeof v === 'string' ? firstDisplayUnsafe(v) : undefined)).find(Boolean);
          return `${eachPrefix}$property must not contain control or bidirectional formatting characters${
            found ? ` (found ${found})` : ''
          }; tab and line breaks are fine`;
        }, options),
      },
    },
    options,
  );
}
