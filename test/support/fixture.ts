/**
 * The usual e2e world: an identity provider, simulated appliances on loopback, and the gateway in front.
 */
import { ApplianceSimulator } from '../../tools/simulator/appliance-simulator.js';
import { startGateway, TestGateway } from './gateway.js';
import { IdentityProvider, sha256Hex } from './identity-provider.js';

export const APPLIANCE_USER = 'svc-backup@vsphere.local';
export const APPLIANCE_PASSWORD = 'Appl1ance-Pa55word-do-not-leak';
export const API_KEY = 'bgk_test_0123456789abcdef0123456789abcdef';
export const READ_ONLY_API_KEY = 'bgk_test_readonly_fedcba9876543210fedcba98';

export interface World {
  idp: IdentityProvider;
  appliances: Record<string, ApplianceSimulator>;
  gateway: TestGateway;
  stop(): Promise<void>;
}

export interface WorldOptions {
  applianceIds?: string[];
  /** Per appliance config overrides (timeoutMs, tls...). */
  applianceConfig?: Record<string, Record<string, unknown>>;
  simulatorOptions?: Partial<ConstructorParameters<typeof ApplianceSimulator>[0]>;
  defaultAppliance?: string | null;
  extra?: Record<string, unknown>;
  /** More environment for `${NAME}` references (webhook secrets). */
  env?: NodeJS.ProcessEnv;
  /** Last word on the config document, for keys inside sections `extra` would replace whole (auth.*). */
  configure?: (document: Record<string, unknown>) => void;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const idp = await new IdentityProvider().start();
  const ids = options.applianceIds ?? ['vc-a', 'vc-b'];
  const appliances: Record<string, ApplianceSimulator> = {};
  for (const id of ids) {
    appliances[id] = new ApplianceSimulator({
      username: APPLIANCE_USER,
      password: APPLIANCE_PASSWORD,
      ...options.simulatorOptions,
    });
    await appliances[id].start();
  }
  const env: NodeJS.ProcessEnv = { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD, ...options.env };
  const document = {
    auth: {
      jwt: idp.jwtConfig({ jwksRefetchIntervalSeconds: 1 }),
      apiKeys: [
        { id: 'nightly-cron', sha256: sha256Hex(API_KEY), scopes: ['backups:run', 'backups:read'] },
        { id: 'dashboard', sha256: sha256Hex(READ_ONLY_API_KEY), scopes: ['backups:read:vc-a'] },
      ],
    },
    appliances: ids.map((id) => ({
      id,
      name: `vCenter ${id}`,
      url: appliances[id].url,
      username: '${VC_USER}',
      password: '${VC_PASSWORD}',
      tags: id === 'vc-a' ? ['prod'] : ['lab'],
      timeoutMs: 2000,
      ...options.applianceConfig?.[id],
    })),
    ...(options.defaultAppliance !== null && { defaultAppliance: options.defaultAppliance ?? ids[0] }),
    // No background reads of the job lists: suites count what reaches the appliances (the freshness suite turns
    // them on).
    freshness: { refreshMinutes: 0 },
    // Nor background status probes, for the same reason (the fleet-status suite turns them on).
    fleet: { backgroundProbes: false },
    ...options.extra,
  };
  options.configure?.(document);
  const gateway = await startGateway(document, env);
  return {
    idp,
    appliances,
    gateway,
    async stop() {
      await gateway.close();
      await Promise.all(Object.values(appliances).map((a) => a.stop()));
      await idp.stop();
    },
  };
}

export const RUN_AND_READ = { scope: 'backups:run backups:read' };
