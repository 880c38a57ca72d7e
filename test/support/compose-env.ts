/**
 * What `docker compose` does with variables, for tests that check the compose file without a Docker engine:
 * read a .env file, and interpolate `$$`, `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
 * `${NAME:?error}`, `${NAME?error}`, `${NAME:+alternative}` and `${NAME+alternative}` in every string value.
 * Compose substitutes an unset plain `${NAME}` with '' and a warning; here it is a problem, like a `?` error.
 */
import { readFileSync } from 'node:fs';

export type Env = Record<string, string>;

/** KEY=VALUE lines; `#` comments, blank lines, `export ` prefixes and matching outer quotes as compose reads them. */
export function readDotEnv(path: string): Env {
  const env: Env = {};
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`${path}: not KEY=VALUE: ${line}`);
    const value = match[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    env[match[1]] = quoted ? quoted[2] : value.replace(/\s+#.*$/, '');
  }
  return env;
}

const REFERENCE = /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\})/g;

function interpolateString(text: string, env: Env, path: string, problems: string[]): string {
  return text.replace(REFERENCE, (match, dollar, bare, name, operator, operand) => {
    if (dollar) return '$';
    const variable = (bare ?? name) as string;
    const value = env[variable];
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (operator as string | undefined) {
      case ':-':
        return nonEmpty ? value : operand;
      case '-':
        return set ? value : operand;
      case ':?':
      case '?':
        if (operator === ':?' ? nonEmpty : set) return value;
        problems.push(`${path}: required variable ${variable} is missing a value: ${operand}`);
        return match;
      case ':+':
        return nonEmpty ? operand : '';
      case '+':
        return set ? operand : '';
      default:
        if (set) return value;
        problems.push(`${path}: variable ${variable} is not set (compose would use an empty string)`);
        return '';
    }
  });
}

/** A copy of `document` with every string value interpolated; problems name the path of each bad reference. */
export function interpolate<T>(document: T, env: Env, problems: string[], path = ''): T {
  if (typeof document === 'string') return interpolateString(document, env, path || '(root)', problems) as T;
  if (Array.isArray(document)) {
    return document.map((item, i) => interpolate(item, env, problems, `${path}[${i}]`)) as T;
  }
  if (document !== null && typeof document === 'object') {
    return Object.fromEntries(
      Object.entries(document).map(([key, value]) => [
        key,
        interpolate(value, env, problems, path ? `${path}.${key}` : key),
      ]),
    ) as T;
  }
  return document;
}

/** A service's `environment:` as a map, from either of compose's forms (a map, or a list of KEY=VALUE). */
export function serviceEnvironment(environment: unknown): Env {
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const [key, ...value] = String(entry).split('=');
        return [key, value.join('=')];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries((environment ?? {}) as Record<string, unknown>).map(([key, value]) => [key, String(value ?? '')]),
  );
}
