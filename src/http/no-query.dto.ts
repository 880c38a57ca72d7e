/**
 * The query of a route that takes none: any parameter is an unknown field (400), like an unknown body key, so
 * `?constructor=` or a typo never passes silently.
 */
export class NoQuery {}
