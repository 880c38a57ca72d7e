/**
 * Something made on its first use, once, by an async `make` (an appliance's connection pool, the webhooks' agent:
 * both need undici, loaded then, common/load-undici.ts). A make that fails (a module that could not be read: no file
 * descriptor left, say) is not kept: the next use tries again, rather than everything that needs it failing until a
 * restart.
 */
export class OnFirstUse<T> {
  private made: Promise<T> | undefined;

  constructor(private readonly make: () => Promise<T>) {}

  /** The thing, made now if it was not. */
  get(): Promise<T> {
    this.made ??= this.make().catch((error: unknown) => {
      this.made = undefined;
      throw error;
    });
    return this.made;
  }

  /** `close` on it if it was made; nothing is made just to be closed, and a make that failed has nothing to close. */
  async close(close: (made: T) => Promise<unknown>): Promise<void> {
    await this.made?.then(close, () => undefined);
  }
}
