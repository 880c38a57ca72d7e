import { Test } from '@nestjs/testing';
import { firstValueFrom, type Observable, take, toArray } from 'rxjs';
import { type PolledEvent, PolledEvents, type PolledState } from '../../../src/backups/polled-events.js';
import { ConfigModule } from '../../../src/config/config.module.js';
import type { GatewayConfig } from '../../../src/config/gateway-config.js';
import { GatewayMetrics } from '../../../src/metrics/gateway-metrics.js';
import { MetricsModule } from '../../../src/metrics/metrics.module.js';

const INTERVAL_MS = 40;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The event streams' one polling loop per resource, built by Nest as the backups module builds it. */
describe('PolledEvents', () => {
  let polled: PolledEvents;
  let metrics: GatewayMetrics;
  let reads: number;
  let state: { progress: number; ended: boolean };
  const read = async (): Promise<PolledState> => {
    reads += 1;
    return { data: { ...state }, signature: `${state.progress}`, ended: state.ended };
  };
  const watching = async () => (await metrics.watchers.get()).values[0]?.value ?? 0;

  beforeEach(async () => {
    const config = { jobs: { pollIntervalMs: INTERVAL_MS }, metrics: { enabled: true } } as GatewayConfig;
    const module = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), MetricsModule.forConfig(config)],
      providers: [PolledEvents],
    }).compile();
    polled = module.get(PolledEvents);
    metrics = module.get(GatewayMetrics);
    reads = 0;
    state = { progress: 0, ended: false };
  });

  const collect = (stream: Observable<PolledEvent>) => {
    const events: PolledEvent[] = [];
    const subscription = stream.subscribe((event) => events.push(event));
    return { events, stop: () => subscription.unsubscribe() };
  };

  it('100 watchers of one resource share one read per interval, each counted while it watches', async () => {
    const watchers = Array.from({ length: 100 }, () => collect(polled.follow('job a 1', read)));
    expect(await watching()).toBe(100);
    await sleep(5 * INTERVAL_MS + INTERVAL_MS / 2);
    // One loop: the first read at once, then one each interval (a loop per watcher would have read 600 times).
    expect(reads).toBeGreaterThanOrEqual(4);
    expect(reads).toBeLessThanOrEqual(7);
    expect(watchers.every((w) => w.events.length === 1 && w.events[0].type === 'progress')).toBe(true);
    for (const w of watchers) w.stop();
    expect(await watching()).toBe(0);
    // Nobody watches: the loop has stopped.
    const after = reads;
    await sleep(3 * INTERVAL_MS);
    expect(reads).toBe(after);
  });

  it('a watcher who joins late gets the latest event at once, and every watcher gets the end', async () => {
    const early = collect(polled.follow('job a 2', read));
    await sleep(INTERVAL_MS / 2);
    state = { progress: 50, ended: false };
    await sleep(2 * INTERVAL_MS);
    const late = collect(polled.follow('job a 2', read));
    expect(late.events.map((e) => e.data)).toEqual([{ progress: 50, ended: false }]);
    state = { progress: 100, ended: true };
    await sleep(2 * INTERVAL_MS);
    expect(early.events.map((e) => e.type)).toEqual(['progress', 'progress', 'progress', 'end']);
    expect(late.events.map((e) => e.type)).toEqual(['progress', 'progress', 'end']);
    // One numbering for the feed, whoever watches: the late watcher's first id is the latest event's.
    expect(early.events.map((e) => e.id)).toEqual([1, 2, 3, 4]);
    expect(late.events.map((e) => e.id)).toEqual([2, 3, 4]);
    expect(late.events.at(-1)?.wire).toBe(
      `id: 4\nevent: end\ndata: ${JSON.stringify({ progress: 100, ended: true })}\n\n`,
    );
    // The end completes every watcher's stream, which gives its count back.
    expect(await watching()).toBe(0);
  });

  it('after the end, the next watcher starts a loop of its own; other resources have their own', async () => {
    state = { progress: 100, ended: true };
    const first = await firstValueFrom(polled.follow('job a 3', read).pipe(take(2), toArray()));
    expect(first.map((e) => e.type)).toEqual(['progress', 'end']);
    const again = await firstValueFrom(polled.follow('job a 3', read).pipe(take(2), toArray()));
    expect(again.map((e) => e.type)).toEqual(['progress', 'end']);
    expect(again.map((e) => e.id)).toEqual([1, 2]); // a new feed numbers from 1
    expect(reads).toBe(2);
    await firstValueFrom(polled.follow('job b 3', read).pipe(take(2), toArray()));
    expect(reads).toBe(3);
  });
});
