import { useEffect } from 'preact/hooks';

/** How often an open page reads its data again. */
export const REFRESH_MS = 15_000;

/**
 * Reads a page's data now (the user's own request), then every `REFRESH_MS` as background reads, which the gateway
 * does not count as the user's activity: a page left open lets its session idle out.
 */
export function useRefresh(load: (background: boolean) => Promise<void>): void {
  useEffect(() => {
    void load(false);
    const timer = setInterval(() => void load(true), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
}
