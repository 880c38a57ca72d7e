import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import type { ApiKeyConfig } from '../config/gateway-config.js';
import { API_KEY_HEADER, findApiKey } from './api-key.js';
import { type Principal, principalFromApiKey } from './principal.js';

export const API_KEY_STRATEGY = 'api-key';

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
