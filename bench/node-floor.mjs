#!/usr/bin/env node
// The Node floor: the least a Node gateway can do for the hot path. Bare node:http, jose (JWKS
// fetched once, key imported once and cached by jose) and an undici Pool: verify the RS256 token
// (signature, iss, aud, exp, scope), log in once (single-flight), forward the run with the session
// header, answer 202 with the job in the gateway's shape. Also GET .../jobs/{id}.
// Env: FLOOR_PORT (0), UPSTREAM_URL, JWKS_URI, ISSUER, AUDIENCE, APPLIANCE_ID, UPSTREAM_USER, UPSTREAM_PASSWORD.
// Prints {"port": N} once listening.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Pool } from 'undici';

const env = process.env;
const jwks = createRemoteJWKSet(new URL(env.JWKS_URI));
const verifyOptions = { issuer: env.ISSUER, audience: env.AUDIENCE, algorithms: ['RS256'], clockTolerance: 30 };
const pool = new Pool(env.UPSTREAM_URL, { connections: 64, keepAliveTimeout: 4_000 });
const basic = `Basic ${Buffer.from(`${env.UPSTREAM_USER}:${env.UPSTREAM_PASSWORD}`).toString('base64')}`;
const ID = '[A-Za-z0-9][A-Za-z0-9._:-]{0,127}';
const RUN = new RegExp(`^/appliances/(${ID})/backups/schedules/(${ID})/run$`);
const JOB = new RegExp(`^/appliances/(${ID})/backups/jobs/(${ID})$`);

let token;
let pending;
/** The session token; one login however many requests find none (single-flight). */
function session() {
  if (token !== undefined) return token;
  if (pending === undefined) {
    pending = pool
      .request({ path: '/api/session', method: 'POST', headers: { authorization: basic } })
      .then(async (r) => {
        const value = await r.body.json();
        if (r.statusCode !== 201) throw new Error(`login: ${r.statusCode}`);
        token = value;
        return value;
      })
      .finally(() => {
        pending = undefined;
      });
  }
  return pending;
}

async function upstream(method, path, body, requestId) {
  for (let attempt = 0; ; attempt++) {
    const current = await session();
    const headers = { 'vmware-api-session-id': current, 'x-request-id': requestId };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await pool.request({ path, method, headers, body });
    if (r.statusCode === 401 && attempt === 0) {
      await r.body.dump();
      if (token === current) token = undefined;
      continue;
    }
    return { status: r.statusCode, json: await r.body.json() };
  }
}

const toJob = (s) => ({
  id: s.id,
  state: s.state,
  progress: s.progress ?? 0,
  startTime: s.start_time ?? null,
  endTime: s.end_time ?? null,
  messages: (s.messages ?? []).map((m) => ({ id: m.id, message: m.default_message, args: m.args ?? [] })),
});

function send(res, status, value, headers = {}) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function handle(req, res, body) {
  const requestId = randomUUID();
  const auth = req.headers.authorization;
  let claims;
  try {
    if (!auth?.startsWith('Bearer ')) throw new Error('no token');
    claims = (await jwtVerify(auth.slice(7), jwks, verifyOptions)).payload;
  } catch {
    return send(res, 401, { code: 'UNAUTHENTICATED', requestId }, { 'www-authenticate': 'Bearer' });
  }
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  const path = req.url.split('?')[0];
  let m = req.method === 'POST' ? RUN.exec(path) : null;
  if (m) {
    if (!scopes.includes('backups:run')) return send(res, 403, { code: 'FORBIDDEN', requestId });
    if (m[1] !== env.APPLIANCE_ID) return send(res, 404, { code: 'APPLIANCE_NOT_FOUND', requestId });
    let comment;
    if (body !== '') {
      try {
        comment = JSON.parse(body).comment;
      } catch {
        return send(res, 400, { code: 'VALIDATION_FAILED', requestId });
      }
    }
    const up = await upstream(
      'POST',
      `/api/appliance/recovery/backup/schedules/${encodeURIComponent(m[2])}?action=run`,
      comment === undefined ? undefined : JSON.stringify({ comment }),
      requestId,
    );
    if (up.status !== 200) return send(res, 502, { code: 'APPLIANCE_ERROR', requestId });
    const job = toJob(up.json);
    return send(
      res,
      202,
      { appliance: m[1], schedule: m[2], job, requestId },
      {
        location: `/appliances/${encodeURIComponent(m[1])}/backups/jobs/${encodeURIComponent(job.id)}`,
      },
    );
  }
  m = req.method === 'GET' ? JOB.exec(path) : null;
  if (m) {
    if (!scopes.includes('backups:read')) return send(res, 403, { code: 'FORBIDDEN', requestId });
    if (m[1] !== env.APPLIANCE_ID) return send(res, 404, { code: 'APPLIANCE_NOT_FOUND', requestId });
    const up = await upstream(
      'GET',
      `/api/appliance/recovery/backup/job/${encodeURIComponent(m[2])}`,
      undefined,
      requestId,
    );
    if (up.status !== 200) return send(res, 502, { code: 'APPLIANCE_ERROR', requestId });
    return send(res, 200, { appliance: m[1], job: toJob(up.json), requestId });
  }
  return send(res, 404, { code: 'NOT_FOUND', requestId });
}

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () =>
    handle(req, res, body).catch(() => {
      if (!res.headersSent) send(res, 502, { code: 'APPLIANCE_ERROR' });
    }),
  );
});
server.listen(Number(env.FLOOR_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => pool.close().then(() => process.exit(0))).closeAllConnections());
process.on('SIGINT', () => process.exit(0));
