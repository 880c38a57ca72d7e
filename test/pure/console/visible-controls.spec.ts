import { showControls } from '../../../console/src/visible-controls.js';

/** The audit page shows stored text through showControls: nothing in it may reorder or hide what follows. */
describe('showControls (console)', () => {
  it('shows bidi overrides, isolates and marks as visible escapes, so "\\u202Eevil" cannot pass for "live"', () => {
    expect(showControls('\u202eevil')).toBe('\\u202Eevil');
    expect(showControls('a\u202ab\u202bc\u202cd\u202de')).toBe('a\\u202Ab\\u202Bc\\u202Cd\\u202De');
    expect(showControls('\u2066x\u2067y\u2068z\u2069')).toBe('\\u2066x\\u2067y\\u2068z\\u2069');
    expect(showControls('\u200e\u200f\u061c')).toBe('\\u200E\\u200F\\u061C');
  });

  it('shows C0 (tab and line breaks aside), DEL and C1 controls as escapes', () => {
    expect(showControls('\u0000\u0001\u0008\u000b\u000c\u000e\u001b[31m\u001f')).toBe(
      '\\u0000\\u0001\\u0008\\u000B\\u000C\\u000E\\u001B[31m\\u001F',
    );
    expect(showControls('\u007f\u0080\u0085\u009b\u009f')).toBe('\\u007F\\u0080\\u0085\\u009B\\u009F');
  });

  it('leaves everything else as it is: any script, emoji sequences, tabs and line breaks, backslashes', () => {
    for (const text of [
      '',
      'before upgrade to 8.0.3',
      'Zoë Ångström, façade, Łódź',
      'גיבוי לפני שדרוג',
      '🙂 👩🏽‍💻 🏳️‍🌈',
      'line 1\n\tline 2\r\n',
      'C:\\backups\\u00e9',
      '\u00a0\u00ad\u200b\u200d\ufeff',
    ])
      expect(showControls(text)).toBe(text);
  });

  it('escapes every occurrence, not only the first', () => {
    expect(showControls('\u202e\u202e')).toBe('\\u202E\\u202E');
  });
});
