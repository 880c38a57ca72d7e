import { jest } from '@jest/globals';
import { ApplianceHealth } from '../../../src/appliances/appliance-health.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';

const at = (text: string) => Date.parse(text);

describe('an appliance’s health as the list shows it', () => {
  afterEach(() => jest.restoreAllMocks());

  it('shows the time of its latest check (ISO 8601), the same until the next check, then that one’s', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(at('2026-03-10T08:00:00.000Z'));
    const health = new ApplianceHealth();
    expect(health.view()).toEqual({ status: 'unknown', lastCheckedAt: null, lastError: null });
    expect(health.ageMs()).toBe(Number.POSITIVE_INFINITY);

    health.succeeded();
    now.mockReturnValue(at('2026-03-10T08:00:05.000Z'));
    expect(health.view()).toEqual({ status: 'ok', lastCheckedAt: '2026-03-10T08:00:00.000Z', lastError: null });
    expect(health.view().lastCheckedAt).toBe('2026-03-10T08:00:00.000Z');
    expect(health.ageMs()).toBe(5000);

    health.failed(new GatewayError('APPLIANCE_TIMEOUT', 'no answer'));
    expect(health.view()).toEqual({
      status: 'unreachable',
      lastCheckedAt: '2026-03-10T08:00:05.000Z',
      lastError: 'APPLIANCE_TIMEOUT',
    });
    now.mockReturnValue(at('2026-03-10T08:00:09.000Z'));
    health.succeeded();
    expect(health.view()).toEqual({ status: 'ok', lastCheckedAt: '2026-03-10T08:00:09.000Z', lastError: null });
  });
});
