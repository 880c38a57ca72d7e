import { request } from 'undici';

// Single requests for a scenario's steps that are not load (start a run, a fleet run, verify the audit chain):
// the JSON answer, the status and the wall time, with a bounded wait.

/**
 * `token`: a bearer token; `body`: sent as JSON; `headers`: more request headers; `expect`: the status required
 * (anything else throws, with the start of the answer). Returns { status, json (undefined unless JSON), ms }.
 */
export async function requestJson(
  url,
  { method = 'GET', token, body, headers: extra, expect, timeoutMs = 60_000 } = {},
) {
  const headers = { ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  if (expect !== undefined && response.status !== expect) {
    throw new Error(`${method} ${url}: ${response.status}, expected ${expect}: ${text.slice(0, 300)}`);
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, ms };
}

/** { value: how many } of a list of values (statuses): { 202: 50 }. */
export function countBy(values) {
  const counts = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** `{ 202: 10, 409: 490 }` → '202×10 409×490'. */
export function countsText(counts) {
  return Object.entries(counts)
    .map(([value, n]) => `${value}×${n}`)
    .join(' ');
}

/**
 * Reads a whole NDJSON export (GET /audit/events, Accept: application/x-ndjson), counting lines and bytes only.
 * `timeoutMs` bounds the wait for the headers and between body chunks (0: none, for exports of millions of entries).
 */
export async function readNdjsonExport(url, token, { timeoutMs = 60_000 } = {}) {
  const response = await request(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/x-ndjson' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  if (response.statusCode !== 200) throw new Error(`GET /audit/events (NDJSON): ${response.statusCode}`);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
  }
  return { lines, bytes };
}

/** One Prometheus scrape with the metrics token: its status, size, lines and the time to answer it, and its text. */
export async function scrapeMetrics(baseUrl, token) {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return {
    status: response.status,
    ms: performance.now() - started,
    bytes: text.length,
    lines: text.split('\n').length,
    text,
  };
}
