/**
 * Nesting depth of JSON text, measured without parsing it (brackets outside strings): true as soon as it is deeper
 * than `max`. JSON.parse copes with any depth, but whatever walks the result afterwards (class-transformer,
 * JSON.stringify) recurses and overflows the stack on a few thousand levels.
 */
export function exceedsJsonDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
