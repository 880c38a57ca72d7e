/**
 * A fleet too large for the heap is said at start (and after a reload that adds appliances), in one warning, instead
 * of being found when the gateway dies of heap exhaustion under its first probes.
 */
import { ApplianceRegistry } from '../../../src/appliances/appliance-registry.service.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';

const appliance = (id: string) => ({ id, url: 'http://127.0.0.1:9', username: 'u', password: 'p' });
const document = (ids: string[], maxHeapUsedMb: number) => ({
  auth: { apiKeys: [{ id: 'nobody', sha256: 'a'.repeat(64), scopes: [] }] },
  appliances: ids.map(appliance),
  limits: { maxHeapUsedMb },
});
const warnings = (gateway: TestGateway) =>
  gateway.logs
    .map((line) => JSON.parse(line) as { level: string; msg: string; appliances?: number })
    .filter((entry) => entry.level === 'warn' && entry.msg.includes('of heap once each has been used'));

describe('the fleet against the heap', () => {
  it('warns at start when the appliances do not fit under the shedding threshold, and names their number', async () => {
    // 50 MB for the gateway and 40 KB an appliance: 2 appliances need 50.08 MB, more than 50.
    const gateway = await startGateway(document(['vc-a', 'vc-b'], 50));
    try {
      expect(warnings(gateway)).toEqual([
        expect.objectContaining({ appliances: 2, msg: expect.stringMatching(/^2 appliances need about 50 MB/) }),
      ]);
    } finally {
      await gateway.close();
    }
  });

  it('says nothing when they fit, and warns after a reload that adds too many', async () => {
    const gateway = await startGateway(document(['vc-a'], 51));
    try {
      expect(warnings(gateway)).toEqual([]);
      const many = Array.from({ length: 40 }, (_, i) => `vc-${i}`);
      gateway.app.get(ApplianceRegistry).reload(parseConfig(document(many, 51), {}));
      expect(warnings(gateway)).toEqual([expect.objectContaining({ appliances: 40 })]);
    } finally {
      await gateway.close();
    }
  });
});
