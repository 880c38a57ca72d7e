// A process of its own that asks GET {url}/health/live one request after another (5 ms apart) until its stdin ends,
// then prints every latency (ms) as one JSON array: the gateway's responsiveness, untouched by whatever the test
// process itself is busy with (reading a 40 MB export, for one).
// argv: url
const [url] = process.argv.slice(2);
const latencies = [];
let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => {
  stopping = true;
});
// The first fetch of a process loads and sets up its HTTP client: not the gateway's time.
await (await fetch(`${url}/health/live`)).arrayBuffer();
process.stdout.write('ready\n');
while (!stopping) {
  const started = performance.now();
  const response = await fetch(`${url}/health/live`);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`/health/live answered ${response.status}`);
  latencies.push(performance.now() - started);
  await new Promise((resolve) => setTimeout(resolve, 5));
}
process.stdout.write(`${JSON.stringify(latencies)}\n`);
