/**
 * Replaces `${NAME}` in every string of a parsed YAML document with the environment's value.
 * This is how secrets come in: the file names them, the environment holds them.
 * Every reference to an unset variable is reported with its path, never silently emptied.
 */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: string[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (match, name: string) => {
      const replacement = env[name];
      if (replacement === undefined) {
        problems.push(`${path || '(root)'}: environment variable ${name} is not set`);
        return match; // left as written: the problem above is the one to report
      }
      return replacement;
    });
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => substituteEnv(item, env, problems, `${path}[${index}]`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        substituteEnv(item, env, problems, path ? `${path}.${key}` : key),
      ]),
    );
  }
  return value;
}
