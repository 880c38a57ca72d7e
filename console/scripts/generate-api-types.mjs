/**
 * TEMPORARY, until clients/typescript (the generated client from the committed openapi.json) is on main: starts the
 * built gateway (dist/, `npm run build` first) on a loopback port with an empty configuration, reads its OpenAPI
 * document from /docs-json, and writes it and the types openapi-typescript generates from it into
 * console/src/api/temporary-openapi/. test/console/api-types.spec.ts fails when they no longer match the API.
 *
 *   npm run build && node console/scripts/generate-api-types.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiTypesSource, fetchLiveOpenApi } from './live-openapi.mjs';

const out = fileURLToPath(new URL('../src/api/temporary-openapi/', import.meta.url));
const document = await fetchLiveOpenApi();
mkdirSync(out, { recursive: true });
writeFileSync(`${out}openapi.json`, `${JSON.stringify(document, null, 2)}\n`);
writeFileSync(`${out}gateway-api.d.ts`, await apiTypesSource(document));
process.stdout.write(`wrote ${out}openapi.json and gateway-api.d.ts\n`);
process.exit(0);
