/**
 * A point in time as the operator reads it: their locale, in their time zone, which is named ("GMT+5:30", "CET");
 * on hover (title) the same instant in UTC, as logs and the audit trail give it. `dateTime` holds it for machines.
 */
export function TimeText({ iso, timeOnly = false }: { iso: string | null | undefined; timeOnly?: boolean }) {
  if (!iso) return <span class="muted">—</span>;
  const date = new Date(iso);
  const local = date.toLocaleString(undefined, {
    ...(timeOnly ? {} : { year: 'numeric', month: '2-digit', day: '2-digit' }),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  });
  return (
    <time dateTime={iso} title={utcText(date)}>
      {local}
    </time>
  );
}

/** "2026-03-10 08:00:00 UTC" */
function utcText(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
