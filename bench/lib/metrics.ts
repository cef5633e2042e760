// A vnetd node's Prometheus page, read by the suites that report what a node did (dns, fill).
import http from 'node:http';
import { hostPort } from './http-load.js';

/** The node's /metrics as name{labels} → value (text format, comments skipped). */
export function scrapeMetrics(address: string): Promise<Map<string, number>> {
  const { host, port } = hostPort(address);
  return new Promise((resolve, reject) => {
    http.get({ host, port, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const out = new Map<string, number>();
        for (const line of text.split('\n')) {
          if (line === '' || line.startsWith('#')) continue;
          const sp = line.lastIndexOf(' ');
          out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
        }
        resolve(out);
      });
    }).on('error', reject);
  });
}
