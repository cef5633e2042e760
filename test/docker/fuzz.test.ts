// Nothing dockerd (or anything else on the socket) sends may crash the driver or get an answer
// outside the protocol: every reply is 200 with a JSON object or non-200 with exactly {"Err"}
// (libnetwork remote IPAM protocol, REFERENCE.md §3). Seeded; replay with DOCKER_FUZZ_SEED.

import t from 'tap';
import fc from 'fast-check';
import http from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../api/harness.js';
import { freePorts } from '../util/ports.js';
import { endpoints, startDockerIpamDriver } from '../../src/docker/index.js';

interface Reply {
  readonly status: number;
  readonly text: string;
}

function post(socketPath: string, path: string, data: Buffer | string, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method, agent: false, headers: { 'content-length': Buffer.byteLength(data) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function wellFormed(r: Reply): boolean {
  let body: unknown;
  try {
    body = JSON.parse(r.text);
  } catch {
    return false;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  if (r.status === 200) return !('Err' in body);
  const keys = Object.keys(body);
  return keys.length === 1 && keys[0] === 'Err' && typeof (body as { Err: unknown }).Err === 'string' && (body as { Err: string }).Err !== '';
}

t.test('random bodies to every endpoint get protocol answers; the driver keeps serving (seeded)', async (t) => {
  const seed = Number(process.env['DOCKER_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with DOCKER_FUZZ_SEED=${seed})`);
  const [closed] = await freePorts(1);
  // vnetd unreachable: every call that gets past parsing ends in a 503, never in a write.
  const d = await startDockerIpamDriver({ socketPath: join(tempDir(t), 'fuzz.sock'), url: `http://127.0.0.1:${closed}`, agent: 'a1' });
  t.teardown(() => d.close());
  const field = fc.oneof(fc.jsonValue(), fc.constantFrom('', 'vnetd:dk:4', 'vnetd:dk:6', '10.0.0.1', 'fd00::1', 'com.docker.network.gateway'));
  const shaped = fc.record(
    { AddressSpace: field, Pool: field, SubPool: field, Options: fc.oneof(fc.dictionary(fc.string(), field), field), V6: field, PoolID: field, Address: field },
    { requiredKeys: [] },
  ).map((x) => JSON.stringify(x));
  const body = fc.oneof(shaped, fc.jsonValue().map((x) => JSON.stringify(x)), fc.string({ maxLength: 200 }));
  const path = fc.oneof(fc.constantFrom(...endpoints), fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`));
  await fc.assert(
    fc.asyncProperty(path, body, fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'), async (p, b, method) => wellFormed(await post(d.socketPath, p, b, method))),
    { seed, numRuns: 300 },
  );
  const big = await post(d.socketPath, '/IpamDriver.RequestPool', Buffer.alloc(70 * 1024, 0x20));
  t.equal(big.status, 400, 'an oversized body is refused');
  t.match(big.text, /larger than/);
  const alive = await post(d.socketPath, '/Plugin.Activate', '');
  t.same(JSON.parse(alive.text), { Implements: ['IpamDriver'] }, 'still serving');
});
