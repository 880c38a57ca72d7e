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

// `npm start` does not pass SIGHUP on, and a signal that ends npm leaves this process running alone, orphaned: no
// drain, no logout, nobody to stop it. Under npm (npm_lifecycle_event is set for its scripts), a new parent is the
// sign that whoever started us is gone: stop as on SIGTERM. Only under npm: `nohup node dist/main.js &` must outlive
// its shell, and supervisors that run node directly (the image, Kubernetes, systemd) never change our parent anyway.
if (process.env.npm_lifecycle_event) {
  const parent = process.ppid;
  let signalled = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => (signalled = true));
  const orphaned = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(orphaned);
    // A stop already under way must not be hurried: a second signal exits without draining.
    if (!signalled) process.kill(process.pid, 'SIGTERM');
  }, 1000);
  orphaned.unref();
}
