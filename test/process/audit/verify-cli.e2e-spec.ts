import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { stringify } from 'yaml';
import type { AuditStore } from '../../../src/audit/store/audit-store.js';
import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { draft } from '../../support/drafts.js';
import { tempDirPerTest } from '../../support/temp-dir.js';

/** `npm run audit:verify` is `node dist/audit/store/verify-cli.js`: run the built CLI (npm test builds first). */
function verifyCli(dir: string, audit: Record<string, unknown>, appliances: unknown[] = []) {
  const configFile = join(dir, 'gateway.yaml');
  const config = {
    auth: { apiKeys: [{ id: 'ops', sha256: 'a'.repeat(64), scopes: ['audit:read'] }] },
    appliances,
    audit,
  };
  writeFileSync(configFile, stringify(config));
  assertBuildIsFresh('dist/audit/store/verify-cli.js');
  const result = spawnSync(process.execPath, ['dist/audit/store/verify-cli.js'], {
    env: { ...process.env, GATEWAY_CONFIG: configFile },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function fill(store: AuditStore, count: number): Promise<string[]> {
  await store.open();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await store.append(draft())).id);
  await store.close();
  return ids;
}

describe('npm run audit:verify', () => {
  const dirOfTest = tempDirPerTest('audit-cli-');

  it('SQLite: exit 0 with the count, exit 1 naming the edited entry, exit 2 when there is no store', async () => {
    const dir = dirOfTest();
    const path = join(dir, 'audit.db');
    const ids = await fill(new SqliteAuditStore(path), 3);
    const ok = verifyCli(dir, { sqlite: { path } });
    expect(ok).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, count: 3 });

    const db = new Database(path);
    db.exec("UPDATE audit_entries SET schedule = 'other' WHERE seq = 2");
    db.close();
    const broken = verifyCli(dir, { sqlite: { path } });
    expect(broken.status).toBe(1);
    expect(JSON.parse(broken.stdout)).toEqual({ ok: false, count: 1, firstBad: { id: ids[1], reason: 'hash' } });

    const missing = join(dir, 'nowhere', 'audit.db');
    const unusable = verifyCli(dir, { sqlite: { path: missing } });
    expect(unusable).toMatchObject({ status: 2, stdout: '' });
    expect(unusable.stderr).toContain('cannot read the sqlite audit store');
    expect(existsSync(missing)).toBe(false);
  });

  it("reads the audit section only: the appliances' secrets need not be in its environment", async () => {
    const dir = dirOfTest();
    const path = join(dir, 'audit.db');
    await fill(new SqliteAuditStore(path), 2);
    const appliances = [
      { id: 'vc-a', url: 'https://vc-a.example', username: '${VC_USER_UNSET}', password: '${VC_PASSWORD_UNSET}' },
    ];
    const ok = verifyCli(dir, { sqlite: { path } }, appliances);
    expect(ok).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, count: 2 });

    // What it does read is still checked, with its path.
    const unset = verifyCli(dir, { sqlite: { path: '${AUDIT_PATH_UNSET}' } }, appliances);
    expect(unset).toMatchObject({ status: 2, stdout: '' });
    expect(unset.stderr).toContain('audit.sqlite.path: environment variable AUDIT_PATH_UNSET is not set');
    expect(unset.stderr).not.toContain('VC_PASSWORD_UNSET');
  });

  const url = process.env.AUDIT_TEST_POSTGRES_URL;
  (url ? it : it.skip)(
    'PostgreSQL: the schema named by the URL (skipped without AUDIT_TEST_POSTGRES_URL)',
    async () => {
      const dir = dirOfTest();
      const schema = `audit_cli_${process.pid}`;
      const withSchema = `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        const ids = await fill(new PostgresAuditStore(withSchema), 4);
        const audit = { store: 'postgres', postgres: { url: withSchema } };
        expect(JSON.parse(verifyCli(dir, audit).stdout)).toEqual({ ok: true, count: 4 });
        await admin.query(`DELETE FROM ${schema}.audit_entries WHERE seq = 2`);
        const broken = verifyCli(dir, audit);
        expect(broken.status).toBe(1);
        expect(JSON.parse(broken.stdout)).toEqual({ ok: false, count: 1, firstBad: { id: ids[2], reason: 'link' } });
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    },
  );
});
