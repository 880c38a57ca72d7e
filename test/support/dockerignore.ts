/**
 * Whether a path of the checkout reaches the Docker build context, by .dockerignore's rules: patterns in order, the
 * last one that matches the path or one of its parent directories wins, `!` re-includes, `*` and `?` stay within
 * one path segment, `**` crosses them.
 */
import { readFileSync } from 'node:fs';

interface Rule {
  include: boolean;
  pattern: RegExp;
}

function toRegExp(glob: string): RegExp {
  const source = glob
    .replace(/^\/+|\/+$/g, '')
    .split('')
    .map((char, i, chars) => {
      if (char === '*' && chars[i + 1] === '*') return '';
      if (char === '*' && chars[i - 1] === '*') return '.*';
      if (char === '*') return '[^/]*';
      if (char === '?') return '[^/]';
      return /[\\^$.|+()[\]{}]/.test(char) ? `\\${char}` : char;
    })
    .join('');
  return new RegExp(`^${source}$`);
}

export function readDockerignore(path = '.dockerignore'): Rule[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => ({ include: line.startsWith('!'), pattern: toRegExp(line.replace(/^!/, '')) }));
}

export function inBuildContext(path: string, rules = readDockerignore()): boolean {
  const segments = path.replace(/^\.\//, '').replace(/\/$/, '').split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let included = true;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.pattern.test(candidate))) included = rule.include;
  }
  return included;
}
