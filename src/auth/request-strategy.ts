import type { Principal } from './principal.js';

/** What a strategy's verify callback reports: an error (a refusal that says why), a principal, or nothing. */
export type VerifyDone = (error: unknown, user?: Principal | false) => void;

/**
 * The smallest passport strategy, a thin adapter: passport installs success/fail/error on the instance it
 * authenticates with, and PassportStrategy() hands the subclass's `validate(request)` in as `verify`. The bearer
 * token and the console's session cookie are both this: the work is in the verifier each `validate` calls.
 */
export class RequestStrategy<R> {
  declare success: (user: Principal) => void;
  declare fail: () => void;
  declare error: (error: unknown) => void;

  constructor(private readonly verify: (request: R, done: VerifyDone) => void) {}

  authenticate(request: R): void {
    this.verify(request, (error, user) => {
      if (error) this.error(error);
      else if (user) this.success(user);
      else this.fail();
    });
  }
}
