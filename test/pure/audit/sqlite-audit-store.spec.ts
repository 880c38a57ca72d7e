import { sqliteFixture } from '../../support/store-fixtures.js';
import { describeAuditStore } from '../../support/store-suite.js';

describeAuditStore('SQLite audit store', sqliteFixture, { concurrent: false });
