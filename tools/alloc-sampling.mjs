// Preloaded into a gateway process with `node --import` (bench/profile.mjs --alloc): where its allocations come from,
// including the objects the collector has already freed, which `node --heap-prof` leaves out (it reports what is
// still alive when it stops). Sampling starts at SIGUSR2, so that start-up and warm-up stay out, and the profile is
// written at exit to ALLOC_PROFILE_OUT, in the .heapprofile format DevTools reads. Uses the DevTools protocol's
// HeapProfiler domain through node:inspector, the runtime's public API. With ALLOC_SURVIVORS=1 the objects freed
// by a scavenge are left out: what remains is what lived long enough to be promoted to the old space (or is still
// alive at exit), the allocations that make mark-compacts.
import fs from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
let sampling = false;
process.on('SIGUSR2', () => {
  if (sampling) return;
  sampling = true;
  session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(process.env.ALLOC_SAMPLING_INTERVAL ?? 8192),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.ALLOC_SURVIVORS !== '1',
  });
});
process.on('exit', () => {
  if (!sampling) return;
  // A session connected in this thread answers synchronously, so this runs to the end before the process exits.
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) fs.writeFileSync(process.env.ALLOC_PROFILE_OUT, JSON.stringify(result.profile));
  });
});
