import { exceedsJsonDepth } from '../../../src/common/json-depth.js';
import { canonicalText, NO_CONTROL_CHARACTERS } from '../../../src/common/text.js';
import { illFormedString } from '../../../src/http/json-body.js';

describe('canonicalText', () => {
  it('makes text well-formed and free of NUL, and keeps what was already fine', () => {
    expect(canonicalText('a\uD800b', 10)).toBe('a\uFFFDb');
    expect(canonicalText('\uDC00', 10)).toBe('\uFFFD');
    expect(canonicalText('a\u0000b', 10)).toBe('a\uFFFDb');
    expect(canonicalText('Zoë 🙂', 10)).toBe('Zoë 🙂');
  });

  it('truncates on code-point boundaries', () => {
    const emoji = '🙂'.repeat(3); // 6 UTF-16 units
    expect(canonicalText(emoji, 6)).toBe(emoji);
    expect(canonicalText(emoji, 5)).toBe('🙂🙂');
    expect(canonicalText(emoji, 4)).toBe('🙂🙂');
    expect(canonicalText(`a${emoji}`, 4)).toBe('a🙂');
    expect(canonicalText('abc', 2)).toBe('ab');
    expect(canonicalText(emoji, 5).isWellFormed()).toBe(true);
  });
});

describe('free text rules', () => {
  it('allow tabs and line breaks, refuse other control characters', () => {
    expect(NO_CONTROL_CHARACTERS.test('line 1\n\tline 2\r\n')).toBe(true);
    for (const c of ['\u0000', '\u0007', '\u000b', '\u001b', '\u007f'])
      expect(NO_CONTROL_CHARACTERS.test(`a${c}b`)).toBe(false);
  });
});

describe('JSON depth, measured on the text', () => {
  it('counts brackets outside strings only', () => {
    expect(exceedsJsonDepth('{"a":[[1]]}', 3)).toBe(false);
    expect(exceedsJsonDepth('{"a":[[[1]]]}', 3)).toBe(true);
    expect(exceedsJsonDepth(`{"a":"${'['.repeat(100)}"}`, 2)).toBe(false);
    expect(exceedsJsonDepth('{"a":"\\"[[[[["}', 2)).toBe(false);
    expect(exceedsJsonDepth('[]'.repeat(1000), 1)).toBe(false);
    expect(exceedsJsonDepth(`${'['.repeat(33)}${']'.repeat(33)}`, 32)).toBe(true);
    expect(exceedsJsonDepth(`${'['.repeat(32)}${']'.repeat(32)}`, 32)).toBe(false);
  });

  it('finds the first ill-formed key or value, with its path', () => {
    expect(illFormedString({ a: 'ok', b: ['fine', 'x\uD800'] }, '')).toBe('b[1]');
    expect(illFormedString({ ['k\uDC00']: 1 }, '')).toBe('(body)');
    expect(illFormedString({ a: { b: '\uD83D\uDE42' } }, '')).toBeUndefined();
  });
});
