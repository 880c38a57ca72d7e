import { postgresFixture } from './support/store-fixtures.js';
import { describeAuditStore } from './support/store-suite.js';

const url = process.env.AUDIT_TEST_POSTGRES_URL;

if (url) {
  describeAuditStore('PostgreSQL audit store', postgresFixture(url));
} else {
  describe.skip('PostgreSQL audit store: skipped, AUDIT_TEST_POSTGRES_URL is not set (eval "$(bash .ci/postgres.sh)" sets it)', () => {
    it('runs the store suite against PostgreSQL', () => undefined);
  });
}
