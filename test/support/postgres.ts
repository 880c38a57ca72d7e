/**
 * Tests against the PostgreSQL that AUDIT_TEST_POSTGRES_URL points at (`eval "$(bash .ci/postgres.sh)"` starts
 * one), each in a schema of its own so that no test sees another's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * `body` gets the URL. Without one the suite is skipped (a todo says what would have run), except in CI, which
 * provides PostgreSQL (.ci/run): there a missing URL is a broken pipeline and fails.
 */
export function describePostgres(name: string, body: (url: string) => void): void {
  const url = process.env.AUDIT_TEST_POSTGRES_URL;
  if (url) {
    describe(name, () => body(url));
  } else if (process.env.CI) {
    describe(name, () => {
      it('has a database to run against', () => {
        throw new Error('AUDIT_TEST_POSTGRES_URL is not set although CI is; .ci/postgres.sh did not run');
      });
    });
  } else {
    describe.skip(`${name}: skipped, AUDIT_TEST_POSTGRES_URL is not set (eval "$(bash .ci/postgres.sh)" sets it)`, () => {
      it.todo(name);
    });
  }
}

/** A schema name no other test uses (the store creates the schema). */
export function freshSchema(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
