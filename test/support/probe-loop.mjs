// Bounded probe loop run inside a lab namespace: GET `url` every `intervalMs` for `durationMs`,
// each on a new connection, printing one JSON line per attempt: {t (epoch ms), ok, status|error, pod}.
import http from 'node:http';

const [url, intervalMs = '100', durationMs = '10000'] = process.argv.slice(2);
const end = Date.now() + Number(durationMs);
const once = () =>
  new Promise((resolve) => {
    const t = Date.now();
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ t, ok: res.statusCode === 200, status: res.statusCode, pod: res.headers['x-kth-pod'] }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ t, ok: false, error: error.code ?? error.message }));
  });
while (Date.now() < end) {
  const started = Date.now();
  process.stdout.write(`${JSON.stringify(await once())}\n`);
  await new Promise((r) => setTimeout(r, Math.max(0, Number(intervalMs) - (Date.now() - started))));
}
