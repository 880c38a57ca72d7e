import { ApplianceBreaker } from '../../../src/appliances/appliance-breaker.js';
import { BreakerConfig } from '../../../src/config/gateway-config.js';

const failure = (code: string) => Object.assign(new Error(code), { code });

describe('ApplianceBreaker', () => {
  const config = Object.assign(new BreakerConfig(), { consecutiveFailures: 2, halfOpenAfterMs: 100 });
  let calls = 0;
  const failing = (code: string) => () => {
    calls++;
    return Promise.reject(failure(code));
  };
  const ok = () => {
    calls++;
    return Promise.resolve('ok');
  };
  beforeEach(() => {
    calls = 0;
  });

  it.each(['ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ECONNRESET'])(
    '%s in a row opens it: the next call fails fast, untried, with Retry-After',
    async (code) => {
      const breaker = new ApplianceBreaker('vc-a', config);
      for (let i = 0; i < 2; i++) await expect(breaker.execute(failing(code))).rejects.toThrow(code);
      expect(breaker.isOpen).toBe(true);
      await expect(breaker.execute(ok)).rejects.toMatchObject({
        code: 'APPLIANCE_UNAVAILABLE',
        details: { retryAfter: 1 },
      });
      expect(calls).toBe(2);
    },
  );

  it('an open circuit says how long until it is tried again, in whole seconds rounded up, and counts as open', async () => {
    const breaker = new ApplianceBreaker('vc-a', { consecutiveFailures: 3, halfOpenAfterMs: 4_500 });
    for (let i = 0; i < 3; i++) await expect(breaker.execute(failing('ECONNREFUSED'))).rejects.toThrow();
    await expect(breaker.execute(ok)).rejects.toMatchObject({
      code: 'APPLIANCE_UNAVAILABLE',
      detail: expect.stringMatching(/^Appliance vc-a failed 3 times in a row .* in 5 s\. Nothing was sent\.$/),
      details: { appliance: 'vc-a', retryAfter: 5 },
    });
    expect(breaker.isOpen).toBe(true);
    expect(new ApplianceBreaker('vc-a', config).isOpen).toBe(false);
  });

  it('tells each state as it changes (the breaker-state metric): closed, open, half-open, closed again', async () => {
    const states: number[] = [];
    const breaker = new ApplianceBreaker('vc-a', config, (state) => states.push(state));
    expect(states).toEqual([0]);
    for (let i = 0; i < 2; i++) await expect(breaker.execute(failing('ECONNREFUSED'))).rejects.toThrow();
    expect(states).toEqual([0, 1]);
    await new Promise((resolve) => setTimeout(resolve, config.halfOpenAfterMs + 20));
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(states).toEqual([0, 1, 2, 0]);
    expect(breaker.isOpen).toBe(false);
  });

  it('errors that are not connection failures (an answer, a TLS refusal) never open it', async () => {
    const breaker = new ApplianceBreaker('vc-a', config);
    for (const code of ['ERR_BAD_RESPONSE', 'CERT_HAS_EXPIRED', 'ANYTHING']) {
      for (let i = 0; i < 3; i++) await expect(breaker.execute(failing(code))).rejects.toThrow(code);
    }
    expect(breaker.isOpen).toBe(false);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
  });

  it('a success in between resets the count', async () => {
    const breaker = new ApplianceBreaker('vc-a', config);
    await expect(breaker.execute(failing('ECONNREFUSED'))).rejects.toThrow();
    await breaker.execute(ok);
    await expect(breaker.execute(failing('ECONNREFUSED'))).rejects.toThrow();
    expect(breaker.isOpen).toBe(false);
  });

  it('after halfOpenAfterMs one call tries again, and closes it when it succeeds', async () => {
    const breaker = new ApplianceBreaker('vc-a', config);
    for (let i = 0; i < 2; i++) await expect(breaker.execute(failing('ECONNREFUSED'))).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 120));
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.isOpen).toBe(false);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
  });
});
