import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'fleet' }
  | { page: 'appliance'; id: string }
  | { page: 'fleet-run' }
  | { page: 'fleet-run-status'; id: string }
  | { page: 'audit' }
  | { page: 'notifications' }
  | { page: 'signed-out'; reason: string };

/** Hash routes (#/fleet, #/appliances/vc-a, ...): one static page serves them all, the server knows none of them. */
export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'appliances' && parts[1]) return { page: 'appliance', id: parts[1] };
  if (parts[0] === 'fleet-run') return { page: 'fleet-run' };
  if (parts[0] === 'fleet-runs' && parts[1]) return { page: 'fleet-run-status', id: parts[1] };
  if (parts[0] === 'audit') return { page: 'audit' };
  if (parts[0] === 'notifications') return { page: 'notifications' };
  if (parts[0] === 'signed-out') return { page: 'signed-out', reason: new URLSearchParams(query).get('reason') ?? '' };
  return { page: 'fleet' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function applianceHref(id: string): string {
  return `#/appliances/${encodeURIComponent(id)}`;
}

/** One fleet run started in waves (GET /backups/runs/{id}): a route of its own, so a reload shows it again. */
export function fleetRunHref(id: string): string {
  return `#/fleet-runs/${encodeURIComponent(id)}`;
}
