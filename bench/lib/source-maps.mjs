// Profiles name the frames of the gateway's bundle (dist/main.js, dist/chunks/*) by their place in the bundle, which
// says neither the package nor the source file. The bundle's source maps do: this maps a profile's call frame
// (0-based line and column) to the source it came from, through node:module's SourceMap.
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A function from call frame to call frame: frames from a bundle with a source map get their source's url and line. */
export function frameResolver() {
  const maps = new Map();
  const mapOf = (url) => {
    if (!maps.has(url)) {
      let found = null;
      try {
        const file = url.startsWith('file:') ? fileURLToPath(url) : url;
        found = { file, map: new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8'))) };
      } catch {}
      maps.set(url, found);
    }
    return maps.get(url);
  };
  return (frame) => {
    if (!frame.url?.includes('/dist/')) return frame;
    const found = mapOf(frame.url);
    const entry = found?.map.findEntry(frame.lineNumber, frame.columnNumber);
    if (!entry?.originalSource) return frame;
    return {
      ...frame,
      url: path.resolve(path.dirname(found.file), entry.originalSource),
      lineNumber: entry.originalLine,
      columnNumber: entry.originalColumn,
    };
  };
}
