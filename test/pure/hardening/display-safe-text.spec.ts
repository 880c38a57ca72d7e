import { validate } from 'class-validator';
import { firstDisplayUnsafe, IsDisplaySafeText } from '../../../src/common/display-safe-text.js';

class Note {
  @IsDisplaySafeText() text?: unknown;
  @IsDisplaySafeText({ each: true }) tags?: unknown[];
}

const note = (text: unknown, tags: unknown[] = []) => Object.assign(new Note(), { text, tags });
const messages = async (text: unknown, tags: unknown[] = []) =>
  (await validate(note(text, tags))).flatMap((error) => Object.values(error.constraints ?? {}));

/** Every character that displays as something else; the ranges' ends and a few from the middle. */
const UNSAFE = [
  ...['\u0000', '\u0007', '\u0008', '\u000b', '\u000c', '\u000e', '\u001b', '\u001f', '\u007f'],
  ...['\u0080', '\u0085', '\u009b', '\u009f'],
  ...['\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068'],
  '\u2069',
];

describe('IsDisplaySafeText', () => {
  it.each(UNSAFE.map((c) => [`U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`, c]))(
    'refuses %s anywhere in the text, naming it',
    async (name, c) => {
      for (const text of [c, `evil${c}`, `${c}evil`, `ev${c}il`]) {
        expect(await messages(text)).toEqual([
          `text must not contain control or bidirectional formatting characters (found ${name}); tab and line breaks are fine`,
        ]);
      }
      expect(firstDisplayUnsafe(`ok ${c}`)).toBe(name);
    },
  );

  it('takes ordinary text in any script, emoji sequences (their zero-width joiner too), tabs and line breaks', async () => {
    for (const text of [
      '',
      'before upgrade to 8.0.3',
      'Zoë, Ångström, façade, naïve, Ærø, Łódź, İstanbul',
      'Привет, 你好, こんにちは, 안녕하세요',
      'גיבוי לפני שדרוג', // Hebrew: right to left by itself, no override needed
      'نسخة احتياطية',
      '🙂 👩🏽‍💻 🏳️‍🌈 👍🏾',
      'line 1\n\tline 2\r\n',
      '\u00a0non-breaking\u00a0space, soft\u00adhyphen, “quotes” — dash…',
    ]) {
      expect(await messages(text)).toEqual([]);
      expect(firstDisplayUnsafe(text)).toBeUndefined();
    }
  });

  it('refuses what is not a string', async () => {
    for (const value of [42, null, {}, ['x']]) expect(await messages(value)).toHaveLength(1);
  });

  it('with `each`, checks every item and names the first offending character of any', async () => {
    expect(await messages('fine', ['prod', 'lab'])).toEqual([]);
    expect(await messages('fine', ['prod', 'la\u202eb', 'x\u0085'])).toEqual([
      'each value in tags must not contain control or bidirectional formatting characters (found U+202E); tab and line breaks are fine',
    ]);
  });
});
