import type { ScheduleDto } from './dto/schedule.dto.js';

/**
 * vAPI Recovery_Backup_Schedules_Info → our schedule. An allowlist, not a denylist: `location_user`,
 * passwords and anything a newer appliance adds stay out unless we decide to show them.
 */
export function toSchedule(id: string, info: Record<string, unknown>): ScheduleDto {
  const recurrence = record(info.recurrence_info);
  const retention = record(info.retention_info);
  return {
    id,
    enabled: info.enable === true,
    recurrence: recurrence
      ? {
          hour: numberOrNull(recurrence.hour),
          minute: numberOrNull(recurrence.minute),
          days: Array.isArray(recurrence.days) ? recurrence.days.map(String) : [],
        }
      : null,
    retention: retention ? { maxCount: numberOrNull(retention.max_count) } : null,
    parts: Array.isArray(info.parts) ? info.parts.map(String) : [],
    location: typeof info.location === 'string' ? stripUserInfo(info.location) : null,
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

/** `sftp://user:password@host/path` must not leak credentials embedded in the location URL. */
function stripUserInfo(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
