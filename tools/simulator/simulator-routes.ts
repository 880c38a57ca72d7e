/**
 * Maps a raw request (method, target) to the appliance operation it invokes. Path parameters are percent-decoded per
 * segment, after splitting, so an encoded '/' stays inside its parameter as it does on the appliance.
 */

export type Operation =
  | { op: 'login' }
  | { op: 'sessionGet' }
  | { op: 'logout' }
  | { op: 'scheduleList' }
  | { op: 'scheduleGet'; schedule: string }
  | { op: 'run'; schedule: string }
  | { op: 'jobList' }
  | { op: 'jobGet'; id: string }
  | { op: 'notFound' };

const BACKUP = ['api', 'appliance', 'recovery', 'backup'];

export function route(method: string, target: string): Operation {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
  const segments = decodeSegments(rawPath);
  if (segments === undefined) return { op: 'notFound' };

  if (segments.length === 2 && segments[0] === 'api' && segments[1] === 'session') {
    if (method === 'POST') return { op: 'login' };
    if (method === 'GET') return { op: 'sessionGet' };
    if (method === 'DELETE') return { op: 'logout' };
    return { op: 'notFound' };
  }
  if (!BACKUP.every((part, i) => segments[i] === part)) return { op: 'notFound' };
  const [resource, param, ...rest] = segments.slice(BACKUP.length);
  if (rest.length > 0) return { op: 'notFound' };

  if (resource === 'schedules') {
    if (param === undefined) return method === 'GET' ? { op: 'scheduleList' } : { op: 'notFound' };
    if (method === 'GET') return { op: 'scheduleGet', schedule: param };
    if (method === 'POST' && query.get('action') === 'run') return { op: 'run', schedule: param };
  }
  if (resource === 'job' && method === 'GET') {
    return param === undefined ? { op: 'jobList' } : { op: 'jobGet', id: param };
  }
  return { op: 'notFound' };
}

/** '/a/b%2Fc' -> ['a', 'b/c']; undefined when not absolute or badly encoded. Empty segments are kept ('/a//b'). */
function decodeSegments(rawPath: string): string[] | undefined {
  if (!rawPath.startsWith('/')) return undefined;
  try {
    return rawPath.slice(1).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}
