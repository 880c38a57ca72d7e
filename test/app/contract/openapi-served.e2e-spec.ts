/**
 * The document a running gateway serves is the one the contract tests check and openapi.json holds, and what it
 * says about authentication is what the gateway does.
 */
import type { OpenAPIObject, ParameterObject } from '@nestjs/swagger';
import request from 'supertest';
import { parse } from 'yaml';
import { openApiFromCode } from '../../../src/openapi-export.js';
import { startWorld, type World } from '../../support/fixture.js';
import { operations } from '../../support/openapi-walk.js';

let world: World;
let built: OpenAPIObject;
beforeAll(async () => {
  [world, built] = await Promise.all([startWorld(), openApiFromCode()]);
});
afterAll(() => world.stop());

/** The path with each path parameter's example filled in. */
function examplePath(path: string, parameters: ParameterObject[]): string {
  return path.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
    const schema = parameters.find((p) => p.name === name)?.schema as { example?: string } | undefined;
    return encodeURIComponent(schema?.example ?? 'x');
  });
}

describe('the served OpenAPI document', () => {
  it('/docs-json and /docs-yaml serve the document the code builds', async () => {
    const json = await request(world.gateway.url).get('/docs-json').expect(200);
    expect(json.body).toEqual(JSON.parse(JSON.stringify(built)));
    const yaml = await request(world.gateway.url).get('/docs-yaml').expect(200);
    expect(parse(yaml.text)).toEqual(json.body);
  });

  it('says `security: []` exactly where the gateway answers without credentials', async () => {
    const checked: string[] = [];
    for (const { method, path, operation } of operations(built)) {
      const parameters = (operation.parameters ?? []).filter((p): p is ParameterObject => 'name' in p);
      const url = examplePath(path, parameters);
      const response = await request(world.gateway.url)[method as 'get' | 'post'](url);
      const isPublic = JSON.stringify(operation.security) === '[]';
      expect([method, url, response.status === 401]).toEqual([method, url, !isPublic]);
      if (!isPublic) expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      checked.push(`${method} ${path}`);
    }
    expect(checked.length).toBeGreaterThanOrEqual(12);
    expect(Object.values(world.appliances).reduce((sum, a) => sum + a.counters.requests, 0)).toBe(0);
  });
});
