/**
 * The one identity of a caller, namespaced by the way it authenticated and, for tokens, by who issued them: a JWT
 * whose `sub` is `apikey:ops` is `jwt:{iss}:apikey:ops`, never API key `ops`. Everything that belongs to a caller
 * keys on it: Idempotency-Keys and their stored answers, rate-limit budgets, concurrency slots, the audit actor.
 * A console session carries the CallerId it was opened with (a person signed in through OpenID Connect is the same
 * caller as that person's bearer token).
 */
export type CallerId = string & { readonly __callerId: unique symbol };

export function jwtCaller(issuer: string, subject: string): CallerId {
  return `jwt:${issuer}:${subject}` as CallerId;
}

export function apiKeyCaller(keyId: string): CallerId {
  return `apikey:${keyId}` as CallerId;
}

/** A CallerId read back from a store that only ever held ones built above (a console session record). */
export function storedCaller(value: string): CallerId | undefined {
  return value.startsWith('jwt:') || value.startsWith('apikey:') ? (value as CallerId) : undefined;
}
