/**
 * What AuthModule offers the rest of the gateway: the one TokenVerifier (the console opens its sessions through it),
 * exported only when `auth.jwt` is configured, and found by a module that merely imports nothing of auth/ (the
 * module is global), as the console module finds it.
 */
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthModule } from '../../../src/auth/auth.module.js';
import { JwtStrategy } from '../../../src/auth/jwt.strategy.js';
import { TokenVerifier } from '../../../src/auth/token-verifier.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { failedAuthenticationsModule } from '../../support/probe-app.js';

const SEEN = Symbol('the verifier another module was given');

/** Another feature module, as the console is: it asks for the verifier, optionally. */
@Module({
  providers: [
    { provide: SEEN, inject: [{ token: TokenVerifier, optional: true }], useFactory: (v?: TokenVerifier) => v ?? null },
  ],
  exports: [SEEN],
})
class ConsumerModule {}

async function context(auth: Record<string, unknown>) {
  const config = parseConfig(
    {
      auth,
      appliances: [{ id: 'vc-a', url: 'http://127.0.0.1:9', username: 'u', password: 'p' }],
      console: { enabled: false },
    },
    {},
  );
  @Module({ imports: [failedAuthenticationsModule(config), AuthModule.forConfig(config), ConsumerModule] })
  class RootModule {}
  return NestFactory.createApplicationContext(RootModule, { logger: false });
}

describe('AuthModule', () => {
  it('with auth.jwt, other modules get the very TokenVerifier the bearer strategy uses', async () => {
    const app = await context({
      jwt: { issuer: 'https://idp.example', audience: 'backup-gateway', jwksUri: 'https://idp.example/jwks' },
    });
    try {
      const seen = app.get<TokenVerifier | null>(SEEN, { strict: false });
      expect(seen).toBeInstanceOf(TokenVerifier);
      const strategy = app.get(JwtStrategy, { strict: false });
      expect((strategy as unknown as { tokens: TokenVerifier }).tokens).toBe(seen);
    } finally {
      await app.close();
    }
  });

  it('without auth.jwt there is no verifier to give, and no bearer strategy', async () => {
    const app = await context({ apiKeys: [{ id: 'k', sha256: '0'.repeat(64), scopes: [] }] });
    try {
      expect(app.get(SEEN, { strict: false })).toBeNull();
      expect(() => app.get(JwtStrategy, { strict: false })).toThrow();
    } finally {
      await app.close();
    }
  });
});
