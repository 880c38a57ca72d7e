import 'reflect-metadata';
import { ConfigError, StartupRefused } from './config/config-errors.js';
import { configPath, loadConfig } from './config/load-config.js';
import { startupProblems } from './config/startup-checks.js';
import { serve } from './serve.js';

try {
  const path = configPath();
  const config = loadConfig(path);
  const refused = startupProblems(config);
  if (refused.length > 0) throw new ConfigError(path, refused);
  await serve(config, { reloadConfig: () => loadConfig(path) });
} catch (error) {
  if (!(error instanceof ConfigError || error instanceof StartupRefused)) throw error;
  // Every problem with its path, before listening: a half-valid gateway must never start. No stack trace: the
  // message is the whole story, and a trace would bury it.
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

