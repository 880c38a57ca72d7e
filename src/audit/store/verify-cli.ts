/**
 * `npm run audit:verify`: walks the configured store's hash chain and prints the result as JSON.
 * Exit 0: the chain verifies; 1: it does not (`firstBad` names the entry); 2: it could not be checked
 * (configuration or store unusable; the reason goes to stderr). Creates and migrates nothing.
 * It reads the `audit` section only: whoever verifies a restored trail need not hold every appliance's password.
 */
import 'reflect-metadata';
import { ConfigError } from '../../config/config-errors.js';
import type { AuditConfig } from '../../config/gateway-config.js';
import { configPath, loadAuditConfig } from '../../config/load-config.js';
import { createAuditStore } from './audit-store-factory.js';

async function main(): Promise<number> {
  let audit: AuditConfig;
  try {
    audit = loadAuditConfig(configPath());
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    return 2;
  }
  if (audit.store === 'off') {
    process.stderr.write('audit:verify: audit.store is off: there is no audit trail to verify\n');
    return 2;
  }
  const store = await createAuditStore(audit, { migrate: false, sameThread: true });
  try {
    await store.open();
    const result = await store.verify();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`audit:verify: cannot read the ${audit.store} audit store: ${(error as Error).message}\n`);
    return 2;
  } finally {
    await store.close().catch(() => undefined);
  }
}

process.exitCode = await main();
