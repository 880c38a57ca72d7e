// Scenario: job-end notifications (issue 20). BENCH_NOTIFY_SECONDS (30) of runs paced at 500 a minute across 20
// simulated appliances (1 s jobs), so about 1,000 events a minute (each run: run.accepted, then job.succeeded), to
// one webhook whose receiver answers 500 to the first delivery attempt of every message (half of all attempts). Then it waits (up to 90 s) until every
// message has been accepted once. Reported: job end → first delivery attempt (p50, p99; the job's end time is the
// appliance's own `endTime`, same machine), job end → accepted delivery, attempts per message, and the checks:
// nothing lost (every accepted run gave both events), nothing delivered twice under a new `webhook-id` (one id per
// event), each id accepted once. bench/check.mjs reads result.firstAttempt.p99Ms against 2 poll intervals.
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { withSimulatedFleet } from '../lib/servers.mjs';
import { percentileSorted } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';
import { SCHEDULE } from '../lib/targets.mjs';

const APPLIANCES = 20;
const JOB_MS = 1000;
const POLL_MS = 1000;
const RUNS_PER_MINUTE = 500;
const DRAIN_TIMEOUT_MS = 90_000;

export async function notifications(ctx) {
  const seconds = Number(process.env.BENCH_NOTIFY_SECONDS ?? 30);
  const secret = `whsec_${crypto.randomBytes(32).toString('base64')}`;
  const receiver = await startReceiver(new Webhook(secret));
  ctx.log(
    `notifications: ${seconds} s of runs at ${RUNS_PER_MINUTE}/min over ${APPLIANCES} appliances, a receiver failing each message's first attempt`,
  );
  const setup = {
    name: 'gateway-notifications',
    count: APPLIANCES,
    jobDurationMs: JOB_MS,
    env: { BENCH_WEBHOOK_SECRET: secret },
    extraConfig: {
      audit: { store: 'sqlite', sqlite: { path: path.join(ctx.tmp, 'notifications-audit.db') } },
      publicUrl: 'http://127.0.0.1',
      jobs: { pollIntervalMs: POLL_MS },
      notifications: { webhooks: [{ id: 'bench', url: receiver.url, secret: '${BENCH_WEBHOOK_SECRET}' }] },
    },
  };
  try {
    return await withSimulatedFleet(ctx, setup, async ({ gateway, appliances }) => {
      const token = await ctx.idp.token({ scope: 'backups:run', expiresInSeconds: 3600 });
      const accepted = [];
      const refused = {};
      const intervalMs = 60_000 / RUNS_PER_MINUTE;
      const started = performance.now();
      const pending = [];
      for (let i = 0; performance.now() - started < seconds * 1000; i++) {
        const appliance = appliances[i % appliances.length].id;
        pending.push(
          fetch(`${gateway.url}/appliances/${appliance}/backups/schedules/${SCHEDULE}/run`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
          }).then(async (response) => {
            const body = await response.json().catch(() => undefined);
            if (response.status === 202) accepted.push(body.job.id);
            else refused[response.status] = (refused[response.status] ?? 0) + 1;
          }),
        );
        const next = started + (i + 1) * intervalMs;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
      }
      await Promise.all(pending);
      const loadSeconds = (performance.now() - started) / 1000;
      const expected = accepted.length * 2;
      const drainStarted = performance.now();
      while (receiver.acceptedEvents() < expected && performance.now() - drainStarted < DRAIN_TIMEOUT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const drainMs = performance.now() - drainStarted;
      const result = receiver.summary(new Set(accepted));
      Object.assign(result, {
        appliances: APPLIANCES,
        jobMs: JOB_MS,
        pollIntervalMs: POLL_MS,
        loadSeconds,
        runsAccepted: accepted.length,
        runsRefused: refused,
        eventsPerMinute: (expected / loadSeconds) * 60,
        drainMs,
      });
      const scenario = `notifications: ${fmt(result.eventsPerMinute)} events/min, receiver failing each first attempt`;
      const rows = [
        {
          scenario,
          target: 'job end → first attempt',
          notes: `p50 ${fmt(result.firstAttempt.p50Ms)} ms, p99 ${fmt(result.firstAttempt.p99Ms)} ms (poll interval ${POLL_MS} ms)`,
        },
        {
          scenario,
          target: 'job end → accepted delivery',
          notes: `p50 ${fmt(result.accepted.p50Ms)} ms, p99 ${fmt(result.accepted.p99Ms)} ms; ${fmt(result.attemptsPerMessage, 2)} attempts per message`,
        },
        {
          scenario,
          target: 'delivered once',
          notes: `${result.runsAccepted} runs accepted, ${result.eventsAccepted}/${expected} events accepted (${result.lost} lost), ${result.eventsUnderTwoIds} under a second webhook-id, ${result.idsAcceptedTwice} ids accepted twice, ${result.badSignatures} bad signatures; drained ${fmt(drainMs)} ms after the load`,
        },
      ];
      return { result, rows };
    });
  } finally {
    await new Promise((resolve) => receiver.server.close(resolve));
  }
}

/**
 * The webhook's receiver: verifies every delivery's signature (standardwebhooks, as the README tells receivers to),
 * answers 500 to each message's first attempt, and records when each message was first tried and first accepted.
 */
async function startReceiver(webhook) {
  const messages = new Map(); // webhook-id → { type, jobId, endTime, firstAttemptAt, acceptedAt, attempts, accepts }
  let badSignatures = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const now = Date.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      let event;
      try {
        event = webhook.verify(raw, req.headers);
      } catch {
        badSignatures += 1;
        res.writeHead(400).end();
        return;
      }
      const id = req.headers['webhook-id'];
      const message = messages.get(id) ?? {
        type: event.type,
        jobId: event.data?.jobId,
        endTime: event.data?.endTime ? Date.parse(event.data.endTime) : undefined,
        firstAttemptAt: now,
        attempts: 0,
        accepts: 0,
      };
      messages.set(id, message);
      message.attempts += 1;
      // Half of all attempts fail: every message's first, so that every message takes the retry path once.
      if (message.attempts === 1) {
        res.writeHead(500).end();
        return;
      }
      message.accepts += 1;
      message.acceptedAt ??= now;
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const acceptedEvents = () => [...messages.values()].filter((m) => m.accepts > 0).length;
  return {
    server,
    url: `http://127.0.0.1:${server.address().port}/hooks/bench`,
    acceptedEvents,
    summary(jobIds) {
      const all = [...messages.values()].filter((m) => jobIds.has(m.jobId));
      const ends = all.filter((m) => m.type !== 'com.backupgateway.run.accepted' && m.endTime !== undefined);
      const latencies = (pick) =>
        ends
          .map(pick)
          .filter((ms) => Number.isFinite(ms))
          .sort((a, b) => a - b);
      const first = latencies((m) => m.firstAttemptAt - m.endTime);
      const done = latencies((m) => (m.acceptedAt === undefined ? Number.NaN : m.acceptedAt - m.endTime));
      const ids = new Map(); // type + jobId → number of webhook-ids
      for (const m of all) ids.set(`${m.type} ${m.jobId}`, (ids.get(`${m.type} ${m.jobId}`) ?? 0) + 1);
      const eventsAccepted = [...ids.keys()].filter((key) =>
        all.some((m) => `${m.type} ${m.jobId}` === key && m.accepts > 0),
      ).length;
      return {
        firstAttempt: { p50Ms: percentileSorted(first, 50), p99Ms: percentileSorted(first, 99), n: first.length },
        accepted: { p50Ms: percentileSorted(done, 50), p99Ms: percentileSorted(done, 99), n: done.length },
        attemptsPerMessage: all.reduce((n, m) => n + m.attempts, 0) / Math.max(1, all.length),
        eventsAccepted,
        lost: jobIds.size * 2 - eventsAccepted,
        eventsUnderTwoIds: [...ids.values()].filter((n) => n > 1).length,
        idsAcceptedTwice: all.filter((m) => m.accepts > 1).length,
        badSignatures,
      };
    },
  };
}
