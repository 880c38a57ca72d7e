/**
 * When the console's cookies may go without `Secure` and `__Host-`: plain http on the developer's own machine
 * (localhost, 127.0.0.1, [::1]) and nowhere else, whatever a Host header claims.
 */
import { ConsoleConfig } from '../../../src/config/gateway-config.js';
import { ConsoleOrigin } from '../../../src/console/console-origin.js';

function request(host: string, protocol = 'http') {
  return { headers: { host }, method: 'GET', protocol };
}

describe('console origin', () => {
  const origin = new ConsoleOrigin(new ConsoleConfig());

  it.each(['localhost:3000', '127.0.0.1:3000', '[::1]:3000', 'localhost'])(
    'plain http on %s: cookies without Secure, and the console may sign in',
    (host) => {
      expect(origin.secure(request(host))).toBe(false);
      expect(origin.usable(request(host))).toBe(true);
    },
  );

  it.each([
    '127.evil.example',
    '127.0.0.1.evil.example:3000',
    '127.0.0.2:3000',
    'localhost.evil.example',
    'gateway.lab.example:3000',
  ])('plain http on %s: Secure cookies, so the console refuses to sign in there', (host) => {
    expect(origin.secure(request(host))).toBe(true);
    expect(origin.usable(request(host))).toBe(false);
  });

  it('over https, Secure everywhere, loopback included', () => {
    expect(origin.secure(request('127.0.0.1:3000', 'https'))).toBe(true);
    expect(origin.usable(request('127.evil.example', 'https'))).toBe(true);
  });

  it('console.publicUrl decides, not the Host header', () => {
    const fixed = new ConsoleOrigin(Object.assign(new ConsoleConfig(), { publicUrl: 'https://console.example.test' }));
    expect(fixed.of(request('127.0.0.1:3000'))).toBe('https://console.example.test');
    expect(fixed.secure(request('localhost:3000'))).toBe(true);
  });
});
