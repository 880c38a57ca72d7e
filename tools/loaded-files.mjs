// Preloaded into a gateway process with `node --import`: which files it loaded, written at exit to LOADED_FILES_OUT
// as a JSON list of paths (test/process/contract/start-up-loading.e2e-spec.ts; bench/profile.mjs --modules). ES modules are seen by a load hook (module.register: the hook
// runs on a thread of its own and posts each URL back), CommonJS ones are read from require.cache.
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const loaded = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => loaded.add(fileURLToPath(url)));
port1.unref();
const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) port.postMessage(url);
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] });

process.on('exit', () => {
  for (const file of Object.keys(createRequire(import.meta.url).cache)) loaded.add(file);
  fs.writeFileSync(process.env.LOADED_FILES_OUT, JSON.stringify([...loaded]));
});
