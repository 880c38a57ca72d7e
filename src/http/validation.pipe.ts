import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, type ValidationError, validate } from 'class-validator';
import { type FieldError, GatewayError } from '../problems/gateway-error.js';

type DtoClass = new () => object;

interface DtoFacts {
  /** The properties the DTO declares: anything else is refused, whatever its name (`constructor`, `__proto__`...). */
  known: ReadonlySet<string>;
  /** An absent body is acceptable when an empty one is: then there is nothing to validate. */
  emptyIsValid: boolean;
}

const VALIDATOR_OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true };

/**
 * The global pipe (APP_PIPE) for request bodies and query strings that are DTO classes. Facts about each DTO class
 * are worked out once, not per request, and class-validator runs only when there is something to validate; both
 * libraries only through their public API. Path identifiers do not come here: IdentifierPipe checks them with one
 * regular expression.
 */
@Injectable()
export class DtoValidationPipe implements PipeTransform {
  private readonly facts = new Map<DtoClass, Promise<DtoFacts>>();

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype as DtoClass | undefined;
    if ((metadata.type !== 'body' && metadata.type !== 'query') || !dto || !isDto(dto)) return value;
    const facts = await this.factsOf(dto);
    if (value === undefined && metadata.type === 'body' && facts.emptyIsValid) return new dto();
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw failed([{ field: '(body)', message: 'must be a JSON object' }]);
    }
    const unknown = Object.keys(value).filter((key) => !facts.known.has(key));
    if (unknown.length > 0)
      throw failed(unknown.map((key) => ({ field: key, message: `property ${key} should not exist` })));
    if (facts.known.size === 0) return new dto(); // a DTO that declares nothing (NoQuery): nothing else to check
    const illFormed = Object.entries(value).find(([, item]) => typeof item === 'string' && !item.isWellFormed());
    if (illFormed) throw failed([{ field: illFormed[0], message: `${illFormed[0]} must be well-formed Unicode` }]);
    const instance = plainToInstance(dto, value);
    const errors = await validate(instance, VALIDATOR_OPTIONS);
    if (errors.length > 0) throw failed(errors.flatMap((error) => fieldErrors(error, '')));
    return instance;
  }

  private factsOf(dto: DtoClass): Promise<DtoFacts> {
    let facts = this.facts.get(dto);
    if (!facts) {
      const known = new Set(
        getMetadataStorage()
          .getTargetValidationMetadatas(dto, '', true, false)
          .map((m) => m.propertyName),
      );
      facts =
        known.size === 0
          ? Promise.resolve({ known, emptyIsValid: true })
          : validate(new dto(), VALIDATOR_OPTIONS).then((errors) => ({
              known,
              emptyIsValid: errors.length === 0,
            }));
      this.facts.set(dto, facts);
    }
    return facts;
  }
}

const PRIMITIVES = new Set<unknown>([String, Boolean, Number, Array, Object]);

function isDto(metatype: DtoClass): boolean {
  return !PRIMITIVES.has(metatype);
}

function failed(fields: FieldError[]): GatewayError {
  const summary = fields.map((f) => f.message).join('; ');
  return new GatewayError('VALIDATION_FAILED', summary || 'The request is invalid.', { errors: fields });
}

function fieldErrors(error: ValidationError, parent: string): FieldError[] {
  const field = parent ? `${parent}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
  return [...own, ...(error.children ?? []).flatMap((child) => fieldErrors(child, field))];
}
