/** Every problem found in a configuration file, each with its path (e.g. `appliances[1].url: must be a URL`). */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    // One problem, one line: what an operator reads first in `docker logs` or `journalctl` is the whole story.
    super(
      problems.length === 1
        ? `invalid configuration ${source}: ${problems[0]}`
        : `invalid configuration ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * The configuration is valid but cannot work on this host (the port is taken): like a ConfigError, the gateway says
 * so in one line and exits 2, without a stack trace, which would only hide the one line that matters.
 */
export class StartupRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupRefused';
  }
}
