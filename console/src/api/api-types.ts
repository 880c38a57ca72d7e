/**
 * The API's types, generated from its OpenAPI document: the only place the console learns what the API looks like.
 * TEMPORARY source: ./temporary-openapi (generated from the running gateway's /docs-json). When clients/typescript is
 * on main, this line is the one to change, to import `paths` and `components` from there.
 */
export type { components, paths } from './temporary-openapi/gateway-api';
