import { API_KEY } from '../../support/fixture.js';
import { spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { sha256Hex } from '../../support/identity-provider.js';

/**
 * The request log as operators get it from the built gateway: anonymous callers choose the path, so each logged
 * value must be bounded, or a flood of 404s with 15 KB paths fills the log disk (72 MB in 2.6 s, seen).
 */
describe('the request log line', () => {
  it('stays small whatever path a caller sends, and says how long the path was', async () => {
    const path = writeConfig({
      auth: { apiKeys: [{ id: 'cron', sha256: sha256Hex(API_KEY), scopes: ['backups:read'] }] },
      appliances: [{ id: 'vc-a', url: 'https://127.0.0.1:9', username: 'u', password: 'p' }],
    });
    const gateway = await spawnGateway(path);
    try {
      const long = `/${'a'.repeat(15_000)}`;
      const response = await fetch(`${gateway.url}${long}?q=1`, { headers: { 'user-agent': 'u'.repeat(500) } });
      expect(response.status).toBe(404);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the logger writes asynchronously
      const lines = gateway
        .output()
        .split('\n')
        .filter((line) => line.includes('"request completed"') && line.includes('"status":404'));
      expect(lines).toHaveLength(1);
      expect(Buffer.byteLength(lines[0])).toBeLessThan(2048);
      const logged = JSON.parse(lines[0]);
      expect(logged).toMatchObject({ status: 404, method: 'GET', pathLength: long.length });
      expect(long.startsWith(logged.path.slice(0, -1))).toBe(true);
    } finally {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
  });
});
