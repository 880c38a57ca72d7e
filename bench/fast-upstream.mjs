#!/usr/bin/env node
// The fast upstream: a bare node:http stand-in for an appliance that accepts every run and
// records nothing per request (two integer counters, for the benchmark's own checks).
//   POST /api/session (HTTP Basic)                            → 201 "token"
//   POST /api/appliance/recovery/backup/schedules/{s}?action=run → 200 BackupJobStatus
//   GET  /api/appliance/recovery/backup/job/{id}             → 200 BackupJobStatus
//   DELETE /api/session                                       → 204
//   GET /__bench/stats → { logins, requests, sessions };  POST /__bench/expire → every session ends
// Prints {"port": N} once listening. Env: UPSTREAM_PORT (default 0), UPSTREAM_USER, UPSTREAM_PASSWORD.
import crypto from 'node:crypto';
import http from 'node:http';

const user = process.env.UPSTREAM_USER ?? 'bench@vsphere.local';
const password = process.env.UPSTREAM_PASSWORD ?? 'bench-password';
const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const RUN_PREFIX = '/api/appliance/recovery/backup/schedules/';
const JOB_PREFIX = '/api/appliance/recovery/backup/job/';
const job = (progress) =>
  JSON.stringify({
    id: '20261126-120000-00000001',
    state: 'INPROGRESS',
    messages: [{ id: 'com.vmware.applmgmt.backup.job.started', default_message: 'Backup job started.', args: [] }],
    progress,
    start_time: '2026-11-26T12:00:00.000Z',
  });
const RUN_ANSWER = job(0);
const JOB_ANSWER = job(40);
const UNAUTHENTICATED = JSON.stringify({
  error_type: 'UNAUTHENTICATED',
  messages: [{ id: 'vapi.method.authentication.required', default_message: 'Authentication required.', args: [] }],
});
const NOT_FOUND = JSON.stringify({
  error_type: 'NOT_FOUND',
  messages: [{ id: 'vapi.bindings.method.impl.not_found', default_message: 'Not found.', args: [] }],
});

const sessions = new Set();
let logins = 0;
let requests = 0;

function send(res, status, text) {
  if (text === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function handle(req, res) {
  requests += 1;
  const { method, url } = req;
  if (url === '/api/session') {
    if (method === 'POST') {
      if (req.headers.authorization !== basic) return send(res, 401, UNAUTHENTICATED);
      const token = crypto.randomBytes(16).toString('hex');
      sessions.add(token);
      logins += 1;
      return send(res, 201, JSON.stringify(token));
    }
    if (method === 'DELETE') {
      sessions.delete(req.headers['vmware-api-session-id']);
      return send(res, 204);
    }
  }
  if (url === '/__bench/stats') return send(res, 200, JSON.stringify({ logins, requests, sessions: sessions.size }));
  if (url === '/__bench/expire' && method === 'POST') {
    sessions.clear();
    return send(res, 204);
  }
  if (!sessions.has(req.headers['vmware-api-session-id'])) return send(res, 401, UNAUTHENTICATED);
  if (method === 'POST' && url.startsWith(RUN_PREFIX) && url.endsWith('?action=run')) return send(res, 200, RUN_ANSWER);
  if (method === 'GET' && url.startsWith(JOB_PREFIX)) return send(res, 200, JOB_ANSWER);
  return send(res, 404, NOT_FOUND);
}

const server = http.createServer((req, res) => {
  req.on('end', () => handle(req, res));
  req.resume();
});
server.keepAliveTimeout = 65_000; // longer than every client's idle timeout, as a real appliance's
server.listen(Number(process.env.UPSTREAM_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
process.on('SIGINT', () => process.exit(0));
