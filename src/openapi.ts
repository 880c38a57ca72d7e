import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_HEADER } from './auth/api-key.strategy.js';
import { ProblemDocument } from './problems/problem-document.js';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Backup Gateway')
    .setDescription(
      'Trigger and follow vCenter appliance backups through one authenticated API. ' +
        'Every error is an RFC 9457 problem document (application/problem+json) with a stable `code`.',
    )
    .setVersion('1')
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
  return SwaggerModule.createDocument(app, config, { extraModels: [ProblemDocument] });
}

/**
 * Swagger UI at /docs, the OpenAPI 3 document at /docs-json. The document is built on its first request and kept:
 * scanning every route is ~45 ms that start-up (and readiness) need not wait for.
 */
export function mountOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}
