/** Typed walks over the OpenAPI document for the contract tests. */
import type { OpenAPIObject, OperationObject, ResponseObject } from '@nestjs/swagger';

export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export interface Operation {
  method: string;
  path: string;
  operation: OperationObject;
}

export function operations(document: OpenAPIObject): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({
      method,
      path,
      operation: item[method] as OperationObject,
    })),
  );
}

export function operation(document: OpenAPIObject, operationId: string): OperationObject {
  const found = operations(document).find((entry) => entry.operation.operationId === operationId);
  if (found === undefined) throw new Error(`no operation ${operationId}`);
  return found.operation;
}

/** Every response of every operation, with where it is. */
export function responses(document: OpenAPIObject): { where: string; status: string; response: ResponseObject }[] {
  return operations(document).flatMap(({ method, path, operation: op }) =>
    Object.entries(op.responses).map(([status, response]) => ({
      where: `${method.toUpperCase()} ${path} ${status}`,
      status,
      response: response as ResponseObject,
    })),
  );
}

/** Every schema object in the document, wherever it is nested, with its JSON pointer. */
export function schemasIn(value: unknown, pointer = '#'): { pointer: string; schema: Record<string, unknown> }[] {
  if (value === null || typeof value !== 'object') return [];
  const own =
    !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string'
      ? [{ pointer, schema: value as Record<string, unknown> }]
      : [];
  return [
    ...own,
    ...Object.entries(value).flatMap(([key, item]) => schemasIn(item, `${pointer}/${key.replaceAll('/', '~1')}`)),
  ];
}

export function response(document: OpenAPIObject, operationId: string, status: string): ResponseObject {
  const found = operation(document, operationId).responses[status];
  if (found === undefined || '$ref' in found) throw new Error(`no inline response ${status} on ${operationId}`);
  return found;
}

/** The codes a problem response has examples for, in the order it lists them. */
export function exampleCodes(document: OpenAPIObject, operationId: string, status: string): string[] {
  return Object.keys(response(document, operationId, status).content?.['application/problem+json']?.examples ?? {});
}
