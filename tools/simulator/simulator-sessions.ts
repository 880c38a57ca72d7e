/**
 * The appliance's API sessions: opaque 32-hex tokens that die after an idle period, on logout, or when evicted.
 * Expiry is checked when a token is used or counted (no timers).
 */
import { randomBytes } from 'node:crypto';

export interface SimulatedSession {
  user: string;
  createdAt: number;
  lastAccessedAt: number;
}

export class SimulatorSessions {
  private readonly sessions = new Map<string, SimulatedSession>();

  constructor(
    private readonly clock: () => number,
    private readonly idleMs: () => number,
  ) {}

  create(user: string): string {
    const token = randomBytes(16).toString('hex');
    const now = this.clock();
    this.sessions.set(token, { user, createdAt: now, lastAccessedAt: now });
    return token;
  }

  /** The live session for this token, its last access refreshed (every use counts as activity); else undefined. */
  use(token: string | undefined): SimulatedSession | undefined {
    if (token === undefined) return undefined;
    const session = this.sessions.get(token);
    if (session === undefined) return undefined;
    const now = this.clock();
    if (this.expired(session, now)) {
      this.sessions.delete(token);
      return undefined;
    }
    session.lastAccessedAt = now;
    return session;
  }

  delete(token: string): boolean {
    return this.sessions.delete(token);
  }

  count(): number {
    const now = this.clock();
    for (const [token, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(token);
    return this.sessions.size;
  }

  clear(): void {
    this.sessions.clear();
  }

  private expired(session: SimulatedSession, now: number): boolean {
    return now - session.lastAccessedAt > this.idleMs();
  }
}
