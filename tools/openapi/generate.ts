/**
 * `npm run openapi`: writes openapi.json (the contract, built from the code) and the TypeScript client's types from
 * it, then checks the result against the last released document (openapi/released/). `-- --check` writes nothing
 * and fails when either file is out of date. Runs the built gateway (dist/), so `npm run openapi` builds first.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compatibilityProblems, type OpenApiDocument } from './breaking-changes.js';
import { CLIENT_TYPES_FILE, clientTypes } from './client-types.js';
import { latestReleased } from './released.js';

/** What dist/openapi-export.js exports (the gateway is built apart from the tools). */
interface OpenApiExport {
  OPENAPI_FILE: string;
  openApiFromCode(): Promise<unknown>;
  toStableJson(value: unknown): string;
}

await import('reflect-metadata');
const gateway = (await import(pathToFileURL(resolve('dist/openapi-export.js')).href)) as OpenApiExport;
const check = process.argv.includes('--check');

const document = gateway.toStableJson(await gateway.openApiFromCode());
const types = await clientTypes(document);
const outdated = [
  [gateway.OPENAPI_FILE, document],
  [CLIENT_TYPES_FILE, types],
].filter(([file, text]) => read(file) !== text);

if (check) {
  for (const [file] of outdated) process.stderr.write(`${file} is out of date: run \`npm run openapi\`\n`);
} else {
  for (const [file, text] of outdated) {
    writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}

const released = latestReleased();
const problems = compatibilityProblems(released.document, JSON.parse(document) as OpenApiDocument);
for (const problem of problems) process.stderr.write(`breaking (against ${released.file}): ${problem}\n`);
process.exitCode = problems.length > 0 || (check && outdated.length > 0) ? 1 : 0;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
