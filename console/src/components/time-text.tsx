/** A point in time in the user's locale, with the exact UTC time as the machine-readable value. */
export function TimeText({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  const date = new Date(iso);
  return <time dateTime={iso}>{date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })}</time>;
}
