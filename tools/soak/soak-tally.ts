/** What the soak saw: answers counted by kind of traffic and by status, and the runs the gateway accepted. */

/** A status code, or what happened instead of one. */
export type Outcome = number | 'closed' | 'client-error';

export class SoakTally {
  private readonly byKind = new Map<string, Map<Outcome, number>>();
  /** Request ids of runs answered 202 (fleet runs: `{fleetRequestId}.{applianceId}` of each 202 result). */
  readonly acceptedRuns: string[] = [];
  /** Answers that fail the soak on their own (a 500, a client-side error on an ordinary request), with what was sent. */
  readonly failures: string[] = [];

  count(kind: string, outcome: Outcome): void {
    const statuses = this.byKind.get(kind) ?? new Map<Outcome, number>();
    statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
    this.byKind.set(kind, statuses);
  }

  fail(description: string): void {
    if (this.failures.length < 50) this.failures.push(description);
    else if (this.failures.length === 50) this.failures.push('(more failures not listed)');
  }

  total(): number {
    let sum = 0;
    for (const statuses of this.byKind.values()) for (const n of statuses.values()) sum += n;
    return sum;
  }

  /** How many answers had this status, over every kind. */
  withStatus(outcome: Outcome): number {
    let sum = 0;
    for (const statuses of this.byKind.values()) sum += statuses.get(outcome) ?? 0;
    return sum;
  }

  byStatus(): [Outcome, number][] {
    const all = new Map<Outcome, number>();
    for (const statuses of this.byKind.values()) {
      for (const [outcome, n] of statuses) all.set(outcome, (all.get(outcome) ?? 0) + n);
    }
    return [...all].sort(([a], [b]) => String(a).localeCompare(String(b)));
  }

  /** One line per kind: its total, then `status×count` by status. */
  kindLines(): string[] {
    return [...this.byKind]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, statuses]) => {
        const total = [...statuses.values()].reduce((a, b) => a + b, 0);
        const parts = [...statuses]
          .sort(([a], [b]) => String(a).localeCompare(String(b)))
          .map(([outcome, n]) => `${outcome}×${n}`);
        return `${kind.padEnd(22)} ${String(total).padStart(7)}  ${parts.join(' ')}`;
      });
  }
}
