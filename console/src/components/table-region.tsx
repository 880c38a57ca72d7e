import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A table too wide for the screen (a phone) scrolls sideways inside this frame, never the page. While it scrolls the
 * frame is a named region in the tab order, so a keyboard user can focus it and scroll it with the arrow keys (axe's
 * `scrollable-region-focusable`); where the table fits, it is neither, and adds no tab stop.
 */
export function TableRegion({ label, children }: { label: string; children: ComponentChildren }) {
  const frame = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useEffect(() => {
    const element = frame.current;
    if (!element) return;
    const measure = () => setScrolls(element.scrollWidth > element.clientWidth);
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    // The table grows with its rows (jobs arriving), not only with the window.
    for (const child of element.children) observer.observe(child);
    return () => observer.disconnect();
  }, []);
  const scrolling = { role: 'region' as const, 'aria-label': `${label} (scrolls sideways)`, tabIndex: 0 };
  return (
    <div ref={frame} class="table-wrap" {...(scrolls ? scrolling : {})}>
      {children}
    </div>
  );
}
