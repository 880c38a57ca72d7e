/**
 * The gateway's entry point (`npm start`, the image): everything else is loaded by start.ts, after this line has
 * turned on Node's compile cache (Node 22.1+, `module.enableCompileCache`): V8's code for each of the ~1,500 modules
 * the gateway loads is kept on disk (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE) and reused by the next
 * start instead of compiled again. Node 20 has no such cache and starts as before. It must run before the modules
 * are loaded, hence the dynamic import.
 */
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./start.js');
