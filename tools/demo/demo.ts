/**
 * `npm run demo`: two simulated appliances and the gateway in front of them, on the embedded defaults (SQLite
 * audit), with config/demo.yaml. The gateway runs exactly as an operator starts it (`node dist/main.js` with
 * GATEWAY_CONFIG), as a child process; the simulators stand in for two vCenters. Nothing external is needed.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ApplianceSimulator } from '../simulator/appliance-simulator.js';
import { startFlags } from '../start-flags.js';

const DEMO_API_KEY = 'demo-key-not-a-secret'; // its SHA-256 is in config/demo.yaml
const DEMO_USER = 'backup-svc@vsphere.local';
const DEMO_PASSWORD = 'demo-appliance-password';
const PORT = process.env.PORT || '3000';
/** config/demo.yaml's host: where the gateway listens. */
const HOST = '127.0.0.1';

const portTaken = () => {
  const next = Number(PORT) >= 65535 ? 3001 : Number(PORT) + 1;
  process.stderr.write(
    `Port ${PORT} is already in use by another program: start the demo on another port, e.g. PORT=${next} npm run demo\n`,
  );
  process.exit(1);
};

const appliances = [
  new ApplianceSimulator({ username: DEMO_USER, password: DEMO_PASSWORD, jobDurationMs: 30_000 }),
  new ApplianceSimulator({ username: DEMO_USER, password: DEMO_PASSWORD, jobDurationMs: 30_000 }),
];
await Promise.all(appliances.map((appliance) => appliance.start()));

const gateway = spawn(process.execPath, [...startFlags(), 'dist/main.js'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: {
    ...process.env,
    GATEWAY_CONFIG: resolve(process.env.GATEWAY_CONFIG ?? 'config/demo.yaml'),
    PORT,
    DEMO_VC_A_URL: appliances[0].url,
    DEMO_VC_B_URL: appliances[1].url,
    DEMO_VC_USER: DEMO_USER,
    DEMO_VC_PASSWORD: DEMO_PASSWORD,
  },
});

// Another program answering on the port must not pass for the demo's gateway (that printed the banner, and then the
// gateway died): ready is when the gateway we started says it listens. Until then its stderr is held back, so that
// a port already taken reads as one line saying how to start the demo elsewhere.
let listening = false;
let heldBack = '';
let startup = '';
gateway.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (listening) return;
  startup += chunk.toString('utf8');
  listening = startup.includes('"msg":"backup gateway listening"');
});
gateway.stderr.on('data', (chunk: Buffer) => {
  if (listening) process.stderr.write(chunk);
  else heldBack += chunk.toString('utf8');
});

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) {
    gateway.kill('SIGKILL'); // a second Ctrl-C: no more waiting
    return;
  }
  stopping = true;
  gateway.kill(signal);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// npm passes SIGINT and SIGTERM on, not SIGHUP: should npm end, the demo must not run on alone.
const parent = process.ppid;
const orphaned = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(orphaned);
  if (!stopping) stop('SIGTERM');
}, 1000);
orphaned.unref();
gateway.on('exit', (code, signal) => {
  if (!listening && /already in use|EADDRINUSE/.test(heldBack)) portTaken();
  process.stderr.write(heldBack);
  heldBack = '';
  void Promise.all(appliances.map((a) => a.stop())).then(() => process.exit(code ?? (signal ? 1 : 0)));
});

// Ready: our gateway said it listens, and answers on its own address.
const base = `http://localhost:${PORT}`;
for (let i = 0; i < 300 && gateway.exitCode === null; i++) {
  const ready =
    listening &&
    (await fetch(`http://${HOST}:${PORT}/health/ready`).then(
      (response) => response.ok,
      () => false,
    ));
  if (ready) {
    process.stderr.write(banner(base));
    break;
  }
  await new Promise((done) => setTimeout(done, 100));
}

function banner(url: string): string {
  return `
Backup Gateway demo: two simulated vCenter appliances (vc-a, vc-b) behind the gateway.

  Operator console:       ${url}/console/   (sign in with the demo API key: ${DEMO_API_KEY})
  API docs (Swagger UI):  ${url}/docs
  OpenAPI document:       ${url}/docs-json

Trigger a backup on vc-a with the demo API key:

  curl -i -X POST ${url}/appliances/vc-a/backups/schedules/default/run \\
       -H 'X-API-Key: ${DEMO_API_KEY}' -H 'Content-Type: application/json' -d '{"comment":"my first backup"}'

Then follow it (the Location header of the answer):

  curl -s ${url}/appliances/vc-a/backups/jobs/<jobId> -H 'X-API-Key: ${DEMO_API_KEY}'

Ctrl-C stops everything.
`;
}
