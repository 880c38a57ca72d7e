/**
 * Answer values that may grow in a minor version (the README's "API stability"): problem codes, appliance statuses,
 * audit actions, outcomes and authentication methods, vAPI job states. In the OpenAPI document such a property is
 * `type: string` with its known values in `x-extensible-enum` (the convention of Zalando's API guidelines), never
 * `enum`: Java, C# and Go generators turn `enum` into a closed type and fail to read an answer carrying a value they
 * do not know. The TypeScript client types it as the known values or any other string (tools/openapi/client-types.ts).
 * Request-side enums (query filters) stay `enum`: there a new value is one a client need not send.
 */
export function extensibleEnum(values: readonly string[]): { type: 'string'; 'x-extensible-enum': string[] } {
  return { type: 'string', 'x-extensible-enum': [...values] };
}
