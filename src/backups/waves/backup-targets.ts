import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { ApplianceRegistry } from '../../appliances/appliance-registry.service.js';

/** Where a member whose schedule location cannot be read (or parsed) goes: one target for all of them, so still limited. */
export const UNKNOWN_TARGET = 'unknown';

/** A schedule's location rarely changes: read once per appliance in this long. */
const TARGETS_TTL_MS = 5 * 60_000;

/** The port a location implies when it names none (the protocols vCenter file-based backup writes with). */
const DEFAULT_PORTS: Record<string, number> = {
  sftp: 22,
  scp: 22,
  ftp: 21,
  ftps: 990,
  http: 80,
  https: 443,
  nfs: 2049,
  smb: 445,
  cifs: 445,
};

/**
 * The backup target of a schedule location: `scheme://host:port` (the port its scheme implies when it names none),
 * without user, password or path: several appliances writing to one NAS share it whatever their folders.
 */
export function targetOf(location: unknown): string {
  if (typeof location !== 'string') return UNKNOWN_TARGET;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return UNKNOWN_TARGET;
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  const host = url.hostname.toLowerCase();
  if (host === '') return UNKNOWN_TARGET;
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  return port === undefined ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
}

/**
 * Each appliance's backup targets, by schedule, as the appliance reports its schedules (read through its vAPI client
 * and kept five minutes). A schedule that cannot be read is on UNKNOWN_TARGET: its run then meets the same trouble
 * and answers for it, audited as every run.
 */
@Injectable()
export class BackupTargets {
  private readonly byAppliance = new LRUCache<string, Promise<Map<string, string>>>({
    max: 10_000,
    ttl: TARGETS_TTL_MS,
  });

  constructor(private readonly registry: ApplianceRegistry) {}

  async of(appliance: string, schedule: string): Promise<string> {
    try {
      return (await this.targets(appliance)).get(schedule) ?? UNKNOWN_TARGET;
    } catch {
      return UNKNOWN_TARGET;
    }
  }

  /** The target of `schedule` on each of `appliances`, read `concurrency` at a time (known ones are not read again). */
  async ofEach(appliances: readonly string[], schedule: string, concurrency: number): Promise<Map<string, string>> {
    const limit = pLimit(concurrency);
    return new Map(
      await Promise.all(
        appliances.map((appliance) => limit(async () => [appliance, await this.of(appliance, schedule)] as const)),
      ),
    );
  }

  private targets(appliance: string): Promise<Map<string, string>> {
    const known = this.byAppliance.get(appliance);
    if (known) return known;
    const reading = Promise.resolve()
      .then(() => this.registry.client(appliance).listSchedules())
      .then((schedules) => new Map(Object.entries(schedules).map(([id, info]) => [id, targetOf(info?.location)])));
    this.byAppliance.set(appliance, reading);
    // A failure is not kept: the next run asks again.
    reading.catch(() => {
      if (this.byAppliance.get(appliance) === reading) this.byAppliance.delete(appliance);
    });
    return reading;
  }
}
