import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import type { ApiKeyConfig } from '../config/gateway-config.js';
import { type Principal, principalFromApiKey } from './principal.js';

export const API_KEY_STRATEGY = 'api-key';
export const API_KEY_HEADER = 'X-API-Key';

/**
 * The configured key a presented one is, if any: the SHA-256 of what is presented against every configured digest,
 * in constant time and without an early exit, so neither timing nor the config file gives a key away. The one
 * comparison for the X-API-Key header and the console's API-key sign-in.
 */
export function findApiKey<K extends Pick<ApiKeyConfig, 'sha256'>>(
  keys: readonly K[],
  presented: string,
): K | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let match: K | undefined;
  for (const key of keys) {
    if (timingSafeEqual(digest, Buffer.from(key.sha256, 'hex')) && match === undefined) match = key;
  }
  return match;
}

/** Service accounts present `X-API-Key`; the config holds only each key's SHA-256 (see findApiKey). */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_STRATEGY) {
  private readonly known: { sha256: string; principal: Principal }[];

  constructor(keys: ApiKeyConfig[]) {
    super({ header: API_KEY_HEADER, prefix: '' }, false);
    this.known = keys.map((key) => ({ sha256: key.sha256, principal: principalFromApiKey(key) }));
  }

  validate(apiKey: string): Principal | false {
    return findApiKey(this.known, apiKey)?.principal ?? false;
  }
}
