// Probes kube-proxy's healthCheckNodePort on each `ip:port` given, in parallel, and prints one JSON
// array: [{ target, status?, localEndpoints?, error? }]. `kth inspect` runs it inside the lab load
// balancer's network namespace (where the lab's load balancer probes from), never on the host.
import { request } from 'node:http';

const timeoutMs = 1500;
const probe = (target) => new Promise((resolve) => {
  const [host, port] = target.split(':');
  let settled = false;
  const done = (result) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    resolve({ target, ...result });
  };
  const req = request({ host, port: Number(port), path: '/healthz', agent: false, headers: { connection: 'close' } }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => { body = (body + chunk).slice(0, 4096); });
    res.on('end', () => {
      let localEndpoints;
      try { localEndpoints = JSON.parse(body).localEndpoints; } catch { /* not kube-proxy's JSON */ }
      done({ status: res.statusCode, ...(typeof localEndpoints === 'number' ? { localEndpoints } : {}) });
    });
    res.on('error', (error) => done({ error: error.message }));
  });
  const timer = setTimeout(() => { req.destroy(); done({ error: `no answer within ${timeoutMs}ms` }); }, timeoutMs);
  req.on('error', (error) => done({ error: error.code ?? error.message }));
  req.end();
});
process.stdout.write(`${JSON.stringify(await Promise.all(process.argv.slice(2).map(probe)))}\n`);
