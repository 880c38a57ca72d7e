import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { exceedsJsonDepth } from '../common/json-depth.js';
import { GatewayError } from '../problems/gateway-error.js';

/** Deeper than any body we accept by far; deep nesting only serves to exhaust the stack of whatever walks it. */
const MAX_JSON_DEPTH = 32;

/**
 * The only request body the API takes: a JSON object, at most MAX_JSON_DEPTH deep (checked on the text, before
 * anything parses or walks it), every string well-formed Unicode (a lone surrogate cannot be stored or hashed the
 * same way twice). An empty body is no body (curl -X POST -H 'content-type: application/json').
 */
export function registerJsonBody(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text === '') return done(null, undefined);
    if (exceedsJsonDepth(text, MAX_JSON_DEPTH)) {
      return done(invalidBody(`The body is nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
    }
    let value: unknown;
    try {
      // Fastify's own parser: `__proto__` and `constructor.prototype` keys are errors, never assignments.
      value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (error) {
      const message = (error as Error).message;
      // secure-json-parse refuses `__proto__` and `constructor.prototype`: say which field, like any unknown field.
      if (/forbidden prototype/.test(message)) {
        const field = text.includes('"__proto__"') ? '__proto__' : 'constructor';
        return done(
          invalidBody(`property ${field} should not exist`, field, `property ${field} should not exist`),
          undefined,
        );
      }
      return done(invalidBody(`The body is not valid JSON: ${message}`), undefined);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return done(invalidBody('The body must be a JSON object.', '(body)', 'must be a JSON object'), undefined);
    }
    const bad = illFormedString(value, '');
    if (bad !== undefined) {
      return done(
        invalidBody('The body holds ill-formed Unicode (a lone surrogate).', bad, 'must be well-formed Unicode'),
        undefined,
      );
    }
    done(null, value);
  });
}

/** The path of the first key or string value that is not well-formed UTF-16, if any (depth is already bounded). */
export function illFormedString(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : path || '(body)';
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!key.isWellFormed()) return path || '(body)';
    const bad = illFormedString(item, here);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

function invalidBody(detail: string, field = '(body)', message = detail): GatewayError {
  return new GatewayError('VALIDATION_FAILED', detail, { errors: [{ field, message }] });
}
