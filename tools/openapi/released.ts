import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenApiDocument } from './breaking-changes.js';

/**
 * Released documents, one per major version: openapi/released/{major}.json, copied from openapi.json when that
 * major is released. Clients are written against the newest; the breaking-change check compares with it.
 */
export const RELEASED_DIR = 'openapi/released';

export function latestReleased(dir = RELEASED_DIR): { file: string; document: OpenApiDocument } {
  const majors = readdirSync(dir)
    .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
    .filter((major): major is string => major !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  if (majors.length === 0) throw new Error(`${dir} holds no released document ({major}.json)`);
  const file = join(dir, `${majors[0]}.json`);
  return { file, document: JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument };
}
