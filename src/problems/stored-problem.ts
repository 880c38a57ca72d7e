/**
 * A problem answer given before and given again as it was (an Idempotency-Key retry): the exception filter sends its
 * body verbatim, marked `Idempotent-Replayed`, so that the filter stays the one place a problem response is written.
 */
export class StoredProblem extends Error {
  constructor(
    readonly status: number,
    /** Lower-case names: the few headers the first answer had worth replaying (Retry-After). */
    readonly headers: Record<string, string>,
    /** The problem document as first sent, JSON text. */
    readonly body: string,
  ) {
    super(`a stored ${status} answer, replayed`);
  }
}
