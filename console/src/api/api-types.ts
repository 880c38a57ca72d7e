/**
 * The API's types, generated from its committed OpenAPI document (clients/typescript, the portals' typed client):
 * the only place the console learns what the API looks like, so it cannot drift from it.
 */
export type { components, paths } from '../../../clients/typescript/src/schema.js';
