import fc from 'fast-check';
import { canonicalText } from '../../../src/common/text.js';

describe('canonicalText', () => {
  it('makes text well-formed, replaces U+0000, and cuts at maxLength UTF-16 units between characters', () => {
    expect(canonicalText('plain', 10)).toBe('plain');
    expect(canonicalText('a\ud800b\udc00', 10)).toBe('a\uFFFDb\uFFFD');
    expect(canonicalText('nul\u0000here', 10)).toBe('nul\uFFFDhere');
    expect(canonicalText('😀😀', 4)).toBe('😀😀');
    expect(canonicalText('😀😀', 3)).toBe('😀'); // not '😀\ud83d'
    expect(canonicalText('a😀', 2)).toBe('a');
    expect(canonicalText('😀', 1)).toBe('');
    expect(canonicalText('abc', 0)).toBe('');
  });

  it('for any string: well-formed, no U+0000, within the limit, a prefix of the repaired text, whole when it fits', () => {
    const anyUnit = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
      fc.constant('\u0000'),
    );
    fc.assert(
      fc.property(fc.string({ unit: anyUnit, maxLength: 40 }), fc.integer({ min: 0, max: 50 }), (value, max) => {
        const text = canonicalText(value, max);
        const repaired = value.toWellFormed().replaceAll('\u0000', '\uFFFD');
        expect(text.isWellFormed()).toBe(true);
        expect(text).not.toContain('\u0000');
        expect(text.length).toBeLessThanOrEqual(max);
        expect(repaired.startsWith(text)).toBe(true);
        expect(text.length).toBeGreaterThanOrEqual(Math.min(repaired.length, max) - 1);
        if (repaired.length <= max) expect(text).toBe(repaired);
        expect(canonicalText(text, max)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
