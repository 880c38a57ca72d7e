import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import type { ApiKeyConfig } from '../config/gateway-config.js';
import { type Principal, principalFromApiKey } from './principal.js';

export const API_KEY_STRATEGY = 'api-key';
export const API_KEY_HEADER = 'X-API-Key';

interface KnownKey {
  digest: Buffer;
  principal: Principal;
}

/**
 * Service accounts present `X-API-Key`. The config holds only each key's SHA-256; we hash what is
 * presented and compare against every configured digest in constant time (no early exit), so
 * neither timing nor the config file gives a key away.
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_STRATEGY) {
  constructor(keys: ApiKeyConfig[]) {
    const known: KnownKey[] = keys.map((key) => ({
      digest: Buffer.from(key.sha256, 'hex'),
      principal: principalFromApiKey(key),
    }));
    super({ header: API_KEY_HEADER, prefix: '' }, false);
    this.known = known;
  }

  private known: KnownKey[];

  validate(apiKey: string): Principal | false {
    const presented = createHash('sha256').update(apiKey, 'utf8').digest();
    let match: Principal | false = false;
    for (const key of this.known) {
      if (timingSafeEqual(presented, key.digest) && match === false) match = key.principal;
    }
    return match;
  }
}
