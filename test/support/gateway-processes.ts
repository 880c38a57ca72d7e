/**
 * Gateway processes (`node dist/main.js`, as operators run it) in front of simulated appliances, and bursts of
 * concurrent runs against them: what the crash and multi-replica tests share.
 */
import { ApplianceSimulator } from '../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from './fixture.js';
import type { GatewayProcess } from './gateway-process.js';
import type { IdentityProvider } from './identity-provider.js';

export const APPLIANCE_ENV = { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD };

/**
 * A config document (for writeConfig) with JWT auth against `idp` and one appliance per simulator. Without `audit`,
 * writeConfig puts a SQLite trail beside the config file (never the repository's data/audit.db).
 */
export function processDocument(
  idp: IdentityProvider,
  appliances: Record<string, ApplianceSimulator>,
  audit?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    auth: { jwt: idp.jwtConfig() },
    appliances: Object.entries(appliances).map(([id, sim]) => ({
      id,
      url: sim.url,
      username: '${VC_USER}',
      password: '${VC_PASSWORD}',
      timeoutMs: 20_000,
    })),
    ...(audit !== undefined && { audit }),
    logging: { level: 'warn' },
    shutdownGraceMs: 1000,
  };
}

export interface RunResult {
  requestId: string;
  /** Undefined when no answer came (the connection died). */
  status?: number;
  body?: { job?: { id: string }; code?: string };
}

/**
 * Fires `count` runs at once, request ids `${prefix}-0`... Each promise settles with what the client got, an
 * answer or none; `answered` lists the answers as they arrive.
 */
export function burst(
  url: string,
  options: { count: number; prefix: string; appliance: string; authorization: string },
): { results: Promise<RunResult[]>; answered: RunResult[] } {
  const answered: RunResult[] = [];
  const runs = Array.from({ length: options.count }, async (_, i): Promise<RunResult> => {
    const requestId = `${options.prefix}-${i}`;
    try {
      const response = await fetch(`${url}/appliances/${options.appliance}/backups/schedules/default/run`, {
        method: 'POST',
        headers: {
          authorization: options.authorization,
          'x-request-id': requestId,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ comment: `burst ${options.prefix}` }),
      });
      const result: RunResult = {
        requestId,
        status: response.status,
        body: (await response.json()) as RunResult['body'],
      };
      answered.push(result);
      return result;
    } catch {
      return { requestId };
    }
  });
  return { results: Promise.all(runs), answered };
}

/** Request ids of the run calls a simulator received, in arrival order. */
export function runRequestIds(sim: ApplianceSimulator): string[] {
  return sim.requests.filter((r) => r.path.includes('action=run')).map((r) => String(r.headers['x-request-id']));
}

/** SIGTERM (or SIGKILL), then waits for the exit; a process that already exited is left alone. */
export async function stopGateway(gateway: GatewayProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill(signal);
  await gateway.exited;
}

/**
 * `document` with notifications on: every event to one webhook, `receiver` (its secret from the environment:
 * PORTAL_WEBHOOK_SECRET), the job tracker reading every 200 ms.
 */
export function notifyingDocument(
  document: Record<string, unknown>,
  receiver: { url: string },
): Record<string, unknown> {
  return {
    ...document,
    publicUrl: 'https://backup-gateway.example.test',
    jobs: { pollIntervalMs: 200 },
    notifications: { webhooks: [{ id: 'portal', url: receiver.url, secret: '${PORTAL_WEBHOOK_SECRET}' }] },
  };
}

/** The backup target every simulator of `nasSimulators` backs up to (its schedules' location, as the gateway reads it). */
export const NAS_TARGET = 'nfs://nas.example.test:2049';

/** One started simulator per id, all backing up to one NAS (NAS_TARGET), with ten-minute jobs ended by the test. */
export async function nasSimulators(ids: string[]): Promise<Record<string, ApplianceSimulator>> {
  const sims: Record<string, ApplianceSimulator> = {};
  for (const id of ids) {
    sims[id] = new ApplianceSimulator({
      username: APPLIANCE_USER,
      password: APPLIANCE_PASSWORD,
      jobDurationMs: 10 * 60_000,
      schedules: { default: { parts: ['seat'], location: `nfs://nas.example.test/backups/${id}`, enable: true } },
    });
    await sims[id].start();
  }
  return sims;
}

/** The ids whose simulator has a backup running now. */
export function runningOn(sims: Record<string, ApplianceSimulator>): string[] {
  return Object.keys(sims).filter((id) => sims[id].startedJobs().some((job) => job.endedAt === undefined));
}
