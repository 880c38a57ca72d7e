import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, type PathItemObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_HEADER } from './auth/api-key.js';
import { REQUEST_ID_HEADER, REQUEST_ID_PARAMETER, REQUEST_ID_RESPONSE_HEADER } from './http/api-headers.js';
import { extensibleEnum } from './http/extensible-enum.js';
import { PROBLEM_EXAMPLES_PREFIX, RETRY_AFTER_HEADER } from './problems/api-problems.decorator.js';
import { PROBLEM_CODES, type ProblemCode } from './problems/problem-codes.js';
import { ProblemDocument } from './problems/problem-document.js';
import { problemExample } from './problems/problem-examples.js';

/**
 * The contract's version (semver). Raise the major for any change that can break a client written against the
 * released document (openapi/released/); `npm run openapi` and the contract tests say when that is.
 */
export const API_VERSION = '1.0.0';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Backup Gateway')
    .setDescription(
      'Trigger and follow vCenter appliance backups through one authenticated API. ' +
        'Every error is an RFC 9457 problem document (application/problem+json) with a stable `code`.',
    )
    .setVersion(API_VERSION)
    // Relative: the API is wherever this document was fetched from (Swagger UI's "Try it out" calls that origin).
    .addServer('/', 'This gateway')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: "Access token from the company's OpenID provider",
      },
      'jwt',
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: API_KEY_HEADER, description: 'Service-account API key' }, 'apiKey')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDocument] });
  return completeOperations(document);
}

/**
 * What holds for every operation, added here rather than on each route so that none can lack it:
 * - `security: []` where no scope is required: such routes are public (the authentication guard lets only @Public
 *   routes through without credentials; a contract test checks the two agree over HTTP);
 * - the X-Request-Id request parameter and response header (every request gets one, every response carries it);
 * - the components that ApiProblems refers to: Retry-After, and the example of each problem code used.
 */
function completeOperations(document: OpenAPIObject): OpenAPIObject {
  const usedCodes = new Set<ProblemCode>();
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = (item as PathItemObject)[method];
      if (operation === undefined) continue;
      operation.security ??= [];
      operation.parameters = [{ $ref: '#/components/parameters/RequestId' }, ...(operation.parameters ?? [])];
      for (const response of Object.values(operation.responses)) {
        if (response === undefined || '$ref' in response) continue;
        response.headers = { [REQUEST_ID_HEADER]: { $ref: '#/components/headers/RequestId' }, ...response.headers };
        for (const media of Object.values(response.content ?? {})) {
          for (const example of Object.values(media.examples ?? {})) {
            if ('$ref' in example && example.$ref.startsWith(PROBLEM_EXAMPLES_PREFIX)) {
              usedCodes.add(example.$ref.slice(PROBLEM_EXAMPLES_PREFIX.length) as ProblemCode);
            }
          }
        }
      }
    }
  }
  document.components = {
    ...document.components,
    parameters: { ...document.components?.parameters, RequestId: REQUEST_ID_PARAMETER },
    headers: { ...document.components?.headers, RequestId: REQUEST_ID_RESPONSE_HEADER, RetryAfter: RETRY_AFTER_HEADER },
    examples: Object.fromEntries([...usedCodes].sort().map((code) => [code, problemExample(code)])),
    schemas: {
      ...document.components?.schemas,
      ProblemCode: {
        ...extensibleEnum(PROBLEM_CODES),
        description:
          'Stable: program against it (the error table in the README); new codes may appear in a minor version',
      },
    },
  };
  return document;
}

/**
 * Swagger UI at /docs, the OpenAPI 3 document at /docs-json. The document is built on its first request and kept:
 * scanning every route is ~45 ms that start-up (and readiness) need not wait for.
 */
export function mountOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    // No badge fetched from an outside validator: the page must work under our CSP and without the internet.
    // BaseLayout: no top bar, whose logo is an SVG with a <style> that our CSP (hashes of the page's own inline
    // styles only) refuses; the bar held nothing but the logo and a URL box Nest hides.
    swaggerOptions: { validatorUrl: null, layout: 'BaseLayout' },
  });
}
