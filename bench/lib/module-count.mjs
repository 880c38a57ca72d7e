// Preloaded with `node --import` by `profile.mjs --modules`: which modules a process loads. ES modules are seen by
// a load hook (module.register; the hook runs on a thread of its own and posts each URL back), CommonJS ones are
// read from require.cache; at exit both, as files by package, go to BENCH_MODULE_COUNT_FILE as JSON.
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const esm = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => esm.add(url));
port1.unref();
const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) port.postMessage(url);
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] });

process.on('exit', () => {
  const files = new Set([...esm].map((url) => fileURLToPath(url)));
  for (const file of Object.keys(createRequire(import.meta.url).cache)) files.add(file);
  const byPackage = {};
  for (const file of files) {
    const nm = file.lastIndexOf('node_modules/');
    const rest = nm >= 0 ? file.slice(nm + 'node_modules/'.length).split('/') : undefined;
    const name = rest ? (rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]) : '(the project’s own files)';
    byPackage[name] = (byPackage[name] ?? 0) + 1;
  }
  fs.writeFileSync(process.env.BENCH_MODULE_COUNT_FILE, JSON.stringify({ total: files.size, byPackage }));
});
