import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { CorsConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import { sendProblem } from '../problems/problem.filter.js';

/** What a portal's JavaScript may read of an answer, beyond the CORS-safelisted headers. */
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'Location',
  'Retry-After',
  'Idempotent-Replayed',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];
/** What a portal may send: credentials, correlation and idempotency, and a JSON body. */
const ALLOWED_HEADERS = ['Authorization', 'X-API-Key', 'X-Request-Id', 'Idempotency-Key', 'Content-Type'];
/** How long a browser may reuse a preflight answer (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * The API answers JSON and never renders anything: no script, style, frame, form or base URL of any origin. The
 * Swagger UI page gets its own policy (docsPolicy).
 */
const API_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The security headers of every answer (helmet's defaults, HSTS for a year): they never depend on the request, so
 * helmet's middleware is built once here. (@fastify/helmet builds it anew for every request: bench/README.md, the
 * run path's profile of 2026-12-05.) The CSP is set in the onSend hook below.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: false, // set below: one policy for the API, one per Swagger UI page
  // Sent over HTTPS only by browsers' rules; behind a TLS-terminating proxy it is what keeps portals on HTTPS.
  hsts: { maxAge: 31_536_000, includeSubDomains: true },
});

/**
 * For browsers: CORS for the origins in `cors.origins` only, and security headers (helmet) on every answer, problem
 * documents included. Registered before anything that can answer (hooks run in registration order), so even an early
 * refusal reaches an allowed portal readable.
 *
 * - Origins are compared exactly; never `*`. Credentials (cookies) are not allowed: portals send a bearer token in
 *   Authorization, which needs no cookie, so no other site can make a browser call the API with ambient authority.
 * - A preflight from any other origin is a 403 ORIGIN_NOT_ALLOWED problem document (the browser then blocks the
 *   call: nothing reaches the route); a simple request from one is served without CORS headers, so the browser
 *   keeps the answer from the page. Requests without Origin (servers, curl) are unaffected.
 * - With no origins (the default) every preflight is that 403, so the CORS plugin, which would only ever add
 *   `Vary: Origin`, is not registered at all.
 */
export async function installBrowserSecurity(fastify: FastifyInstance, config: CorsConfig): Promise<void> {
  const allowed = new Set(config.origins);
  fastify.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    if (request.method === 'OPTIONS' && origin !== undefined && !allowed.has(origin)) {
      // Answered here, as the one exception filter would: Fastify's own error path would send plain JSON.
      const detail = `Browser pages from ${origin.slice(0, 200)} may not call this API: the origin is not in cors.origins.`;
      sendProblem(request, reply, new GatewayError('ORIGIN_NOT_ALLOWED', detail));
      return;
    }
    done();
  });
  if (allowed.size > 0) {
    await fastify.register(cors, {
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      credentials: false,
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ALLOWED_HEADERS,
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: PREFLIGHT_MAX_AGE_SECONDS,
      // An OPTIONS from an allowed origin without Access-Control-Request-Method is answered as a preflight, not with
      // the plugin's plain-text 400: every error here is a problem document.
      strictPreflight: false,
    });
  }
  fastify.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, () => done()));
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    // A page that brings its own policy (the operator console's) keeps it.
    if (reply.hasHeader('content-security-policy')) return done(null, payload);
    const html = String(reply.getHeader('content-type') ?? '').startsWith('text/html');
    reply.header('content-security-policy', html && typeof payload === 'string' ? docsPolicy(payload) : API_POLICY);
    done(null, payload);
  });
}

/**
 * Swagger UI (the only HTML we serve): its scripts, styles and images from this origin, its fetches to this origin,
 * and exactly the inline styles of the page we send (Nest's template has two <style> blocks and one style
 * attribute), allowed by their hashes. No inline script, no eval, no other origin.
 */
function docsPolicy(html: string): string {
  const blocks = [...html.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/g)].map((match) => hash(match[1]));
  const attributes = [...html.matchAll(/\sstyle="([^"]*)"/g)].map((match) => hash(match[1]));
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' ${blocks.join(' ')}`.trim(),
    attributes.length > 0 ? `style-src-attr 'unsafe-hashes' ${attributes.join(' ')}` : "style-src-attr 'none'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function hash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}
