import { sqliteWorkerFixture } from '../../support/store-fixtures.js';
import { describeAuditStore } from '../../support/store-suite.js';

describeAuditStore('SQLite audit store on its worker thread', sqliteWorkerFixture, { concurrent: true });
