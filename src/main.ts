import 'reflect-metadata';
import { ConfigError } from './config/config-errors.js';
import { configPath, loadConfig } from './config/load-config.js';
import { serve } from './serve.js';

try {
  const path = configPath();
  await serve(loadConfig(path), { reloadConfig: () => loadConfig(path) });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // Every problem with its path, before listening: a half-valid gateway must never start.
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
