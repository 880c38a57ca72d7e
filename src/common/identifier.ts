/**
 * Identifiers we accept in paths (appliance, schedule, job) and forward upstream.
 * Tight on purpose: no slashes, dots-only names or percent signs can reach an appliance URL.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** ID_PATTERN in words: what error messages say (people read them; a regular expression helps nobody). */
export const ID_RULE = '1 to 128 letters, digits, dots, underscores, colons or hyphens, starting with a letter or digit';

/** class-validator's options for a property that must be an identifier (`$property` is its name). */
export const ID_MESSAGE = { message: `$property must be ${ID_RULE}` };
