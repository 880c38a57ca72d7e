import type { Appliance } from '../api/client';
import { TimeText } from './time-text';

/** "3 h", "2 d 4 h": how long ago, to the hour (backups run daily, minutes would be noise). */
export function ageWords(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  if (hours < 1) return `${Math.max(1, Math.floor(seconds / 60))} min`;
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** The appliance's last successful backup and its age, red and said in words when it is stale. */
export function BackupAge({ backup }: { backup: Appliance['backup'] }) {
  if (backup.stale === null) return <span class="muted">Not read yet</span>;
  if (backup.lastSuccessAt === null) return <span class="stale">No successful backup reported</span>;
  return (
    <span class={backup.stale ? 'stale' : undefined}>
      {backup.stale && <span class="visually-hidden">Stale: </span>}
      {ageWords(backup.ageSeconds ?? 0)} ago{' '}
      <span class="muted">
        (<TimeText iso={backup.lastSuccessAt} />)
      </span>
    </span>
  );
}

/**
 * Stale appliances first (the on-call question is which one has no recent backup), then those whose job list could
 * not be read (unreachable: nobody knows), then the rest, each group as the gateway lists it.
 */
export function staleFirst(appliances: Appliance[]): Appliance[] {
  const rank = (a: Appliance) => (a.backup.stale === true ? 0 : a.backup.stale === null ? 1 : 2);
  return [...appliances].sort((a, b) => rank(a) - rank(b));
}
