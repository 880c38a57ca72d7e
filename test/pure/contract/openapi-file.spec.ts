/**
 * The committed contract: openapi.json is what the code builds, the client's types are what openapi.json
 * generates, and neither breaks clients of the last released document without a new major version.
 */
import { readFileSync } from 'node:fs';
import { OPENAPI_FILE, openApiFromCode, toStableJson } from '../../../src/openapi-export.js';
import { compatibilityProblems, type OpenApiDocument } from '../../../tools/openapi/breaking-changes.js';
import { CLIENT_TYPES_FILE, clientTypes } from '../../../tools/openapi/client-types.js';
import { latestReleased } from '../../../tools/openapi/released.js';

const FIX = 'run `npm run openapi` and commit the result';

/** The first line where two texts differ, so the failure says what changed. */
function firstDifference(expected: string, actual: string): string {
  const [want, have] = [expected.split('\n'), actual.split('\n')];
  const line = want.findIndex((text, index) => text !== have[index]);
  return `line ${line + 1}: expected ${JSON.stringify(want[line])}, found ${JSON.stringify(have[line])}`;
}

function expectSame(file: string, expected: string) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file} is missing: ${FIX}`);
  }
  if (committed !== expected) {
    throw new Error(`${file} is out of date (${firstDifference(expected, committed)}): ${FIX}`);
  }
}

describe('the committed OpenAPI document', () => {
  it(`${OPENAPI_FILE} is the document the code builds, keys sorted, with a trailing newline`, async () => {
    const built = toStableJson(await openApiFromCode());
    expect(built.endsWith('}\n')).toBe(true);
    expectSame(OPENAPI_FILE, built);
  });

  it(`${CLIENT_TYPES_FILE} is what openapi-typescript generates from ${OPENAPI_FILE}`, async () => {
    expectSame(CLIENT_TYPES_FILE, await clientTypes(readFileSync(OPENAPI_FILE, 'utf8')));
  });

  it('breaks no client of the last released document, or raises the major version', () => {
    const released = latestReleased();
    const current = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
    expect(compatibilityProblems(released.document, current)).toEqual([]);
  });

  it('toStableJson sorts keys at every depth and keeps array order', () => {
    expect(toStableJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      3,\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
    );
  });
});
