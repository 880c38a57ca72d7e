/**
 * A browser's part of the console's login, over plain HTTP: follows the redirects between the gateway and the
 * provider with a cookie jar (cookies are per host, as browsers keep them), fills the provider's login form, and
 * returns the console's session cookie. For tests of the backend-for-frontend that need no rendering.
 */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  header(url: string): string {
    const cookies = this.byHost.get(new URL(url).hostname) ?? new Map<string, string>();
    return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  take(url: string, response: Response): void {
    const host = new URL(url).hostname;
    const cookies = this.byHost.get(host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || attributes.some((a) => a.trim().toLowerCase() === 'max-age=0')) cookies.delete(name);
      else cookies.set(name, value);
    }
    this.byHost.set(host, cookies);
  }

  get(url: string, name: string): string | undefined {
    return this.byHost.get(new URL(url).hostname)?.get(name);
  }
}

export interface LoginTrace {
  jar: CookieJar;
  /** Every Set-Cookie line the gateway sent, by path. */
  gatewayCookies: { path: string; setCookie: string[] }[];
  /** Where the login ended (the console page, or its signed-out page with a reason). */
  landedAt: string;
  /** The callback URL the provider sent the browser to. */
  callbackUrl?: string;
}

export async function loginOverHttp(
  gatewayUrl: string,
  user: string,
  password: string,
  jar = new CookieJar(),
  /** Stop at the provider's redirect back, not followed: `callbackUrl` is the genuine callback (code, state, iss). */
  options: { stopAtCallback?: boolean } = {},
): Promise<LoginTrace> {
  const trace: LoginTrace = { jar, gatewayCookies: [], landedAt: '' };
  let url = `${gatewayUrl}/console/login`;
  let init: RequestInit = {};
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header(url) },
    });
    jar.take(url, response);
    if (url.startsWith(gatewayUrl)) {
      trace.gatewayCookies.push({ path: new URL(url).pathname, setCookie: response.headers.getSetCookie() });
      if (new URL(url).pathname === '/console/callback') trace.callbackUrl = url;
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url).href;
      init = {};
      if (options.stopAtCallback && url.startsWith(`${gatewayUrl}/console/callback?`)) {
        trace.callbackUrl = url;
        return trace;
      }
      if (url.startsWith(`${gatewayUrl}/console/`) && !url.includes('/console/callback')) {
        trace.landedAt = url;
        return trace;
      }
      continue;
    }
    const html = await response.text();
    const form = /<form method="post" action="([^"]+)"/.exec(html);
    if (response.status === 200 && form) {
      url = new URL(form[1], url).href;
      init = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: user, password }).toString(),
      };
      continue;
    }
    throw new Error(`login stopped at ${response.status} ${url}: ${html.slice(0, 200)}`);
  }
  throw new Error('login did not finish in 20 redirects');
}
