/** The compose-style interpolation the deploy tests rely on behaves as `docker compose` documents it. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interpolate, readDotEnv, serviceEnvironment } from '../../support/compose-env.js';
import { tempDir } from '../../support/temp-dir.js';

function run(text: string, env: Record<string, string>) {
  const problems: string[] = [];
  return { value: interpolate({ key: text }, env, problems).key, problems };
}

describe('compose-style interpolation', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['$A/$$A', { A: 'x' }, 'x/$A'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['${A-d}', {}, 'd'],
    ['${A:+alt}', { A: 'x' }, 'alt'],
    ['${A:+alt}', { A: '' }, ''],
    ['${A+alt}', { A: '' }, 'alt'],
    ['${A:?need A}', { A: 'x' }, 'x'],
    ['${A?need A}', { A: '' }, ''],
  ])('%s with %j is %j', (text, env, expected) => {
    expect(run(text, env)).toEqual({ value: expected, problems: [] });
  });

  it('reports required and unset variables with their path', () => {
    expect(run('${A:?set A}', { A: '' }).problems).toEqual(['key: required variable A is missing a value: set A']);
    expect(run('${B}', {}).problems).toEqual(['key: variable B is not set (compose would use an empty string)']);
  });

  it('reads .env files and both forms of environment:', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.env'), '# comment\nA=1\nexport B="two words"\nC=3 # trailing\n\n');
    expect(readDotEnv(join(dir, '.env'))).toEqual({ A: '1', B: 'two words', C: '3' });
    rmSync(dir, { recursive: true });
    expect(serviceEnvironment(['X=1=2', 'Y='])).toEqual({ X: '1=2', Y: '' });
    expect(serviceEnvironment({ X: 1, Y: null })).toEqual({ X: '1', Y: '' });
  });
});
