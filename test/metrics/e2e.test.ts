// /metrics of real vnetd processes (issue 6, "Metrics"): a 3-voter cluster takes writes (some
// refused), snapshots (--snapshot-entries 20) and DNS queries over UDP and TCP; a scrape before
// and after must show every family of src/metrics/README.md present, with help text, and moved
// by at least what the test did.

import t from 'tap';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { call, dnsQuery, nodeSpecs, peersFlag, secretFile, startNode, tempDir, waitFor, waitReady } from '../api/harness.js';
import type { VnetdNode } from '../api/harness.js';
import { parseMetrics, series, value } from './scrape.js';
import type { Scrape } from './scrape.js';

async function scrape(node: VnetdNode): Promise<Scrape> {
  const r = await call(node.url, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseMetrics(r.text);
}

/** One DNS query over TCP (RFC 1035 §4.2.2: two-byte length prefix); resolves with the rcode. */
function tcpQuery(address: string, name: string): Promise<string> {
  const colon = address.lastIndexOf(':');
  const packet = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name, class: 'IN' }] });
  const framed = Buffer.concat([Buffer.from([packet.length >> 8, packet.length & 0xff]), packet]);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    let got = Buffer.alloc(0);
    socket.setTimeout(3_000, () => socket.destroy(new Error('no TCP DNS answer')));
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length < 2 || got.length < 2 + got.readUInt16BE(0)) return;
      socket.end();
      resolve((dnsPacket.decode(got.subarray(2)) as unknown as { rcode: string }).rcode);
    });
    socket.write(framed);
  });
}

const families = [
  'vnetd_raft_term', 'vnetd_raft_leader_changes_total', 'vnetd_raft_commit_index', 'vnetd_raft_applied_index',
  'vnetd_raft_proposals_total', 'vnetd_raft_proposal_duration_seconds', 'vnetd_raft_fsync_duration_seconds',
  'vnetd_raft_entries_per_save', 'vnetd_raft_snapshot_bytes', 'vnetd_raft_snapshot_duration_seconds', 'vnetd_raft_snapshots_total',
  'vnetd_raft_peer_lag_entries', 'vnetd_raft_peer_reachable',
  'vnetd_ipam_network_capacity', 'vnetd_ipam_network_used', 'vnetd_ipam_network_free', 'vnetd_ipam_network_agents',
  'vnetd_ipam_agent_capacity', 'vnetd_ipam_agent_used', 'vnetd_ipam_allocation_failures_total',
  'vnetd_dns_queries_total', 'vnetd_dns_query_duration_seconds', 'vnetd_dns_change_to_answerable_seconds',
  'vnetd_http_requests_total', 'vnetd_http_request_duration_seconds',
  'vnetd_process_malloc_bytes', 'vnetd_process_malloc_trims_total',
];

t.test('every metric family is present and moves with writes and DNS queries', async (t) => {
  const specs = await nodeSpecs(3, 'm');
  const secret = secretFile(t);
  const peers = peersFlag(specs);
  const nodes = await Promise.all(specs.map((s) => startNode(t, s, tempDir(t), ['--peers', peers, '--cluster-secret-file', secret, '--snapshot-entries', '20', '--snapshot-idle-ms', '0'])));
  for (const n of nodes) await waitReady(n);
  const leaderId = await waitFor('a leader', async () => (await call(nodes[0]!.url, 'GET', '/v1/cluster')).body?.leader as string | undefined);
  const leader = nodes.find((n) => n.id === leaderId)!;
  const follower = nodes.find((n) => n.id !== leaderId)!;
  const before = await scrape(leader);
  const followerBefore = await scrape(follower);

  // Writes: a small network (/28 blocks: 5 addresses per half), two agents, tasks until one half is full.
  t.equal((await call(leader.url, 'POST', '/v1/networks', { name: 'small', subnet: '10.77.0.0/24', prefix: 28 })).status, 201);
  for (const a of ['a1', 'a2']) t.equal((await call(leader.url, 'PUT', `/v1/agents/${a}`, { ip: `10.0.0.${a === 'a1' ? 1 : 2}` })).status, 201);
  let dnsName = '';
  const writes = 3 + 30;
  for (let i = 0; i < 30; i++) {
    const r = await call(follower.url, 'PUT', `/v1/tasks/t${i}`, { name: `web${i}`, framework: 'marathon', agent: i < 5 ? 'a1' : 'a2', network: i < 5 ? 'small' : 'dcos' });
    t.equal(r.status, 201, r.text);
    dnsName = r.body.dns.containerip as string;
  }
  const full = await call(leader.url, 'PUT', '/v1/tasks/full', { name: 'full', framework: 'marathon', agent: 'a1', network: 'small' });
  t.equal(full.body?.error, 'exhausted');
  const unknown = await call(leader.url, 'PUT', '/v1/tasks/nowhere', { name: 'x', framework: 'marathon', agent: 'no-such-agent', network: 'dcos' });
  t.equal(unknown.status, 404);

  // DNS on the follower (which applied the writes from the log) and the leader, UDP and TCP.
  await waitFor('the follower answers the last name', async () => ((await dnsQuery(follower.dns, dnsName, 'A')).answers.length === 1 ? true : undefined));
  t.equal((await dnsQuery(leader.dns, dnsName, 'A')).rcode, 'NOERROR');
  t.equal((await dnsQuery(leader.dns, 'nothing.marathon.containerip.dcos', 'A')).rcode, 'NXDOMAIN');
  t.equal(await tcpQuery(leader.dns, dnsName), 'NOERROR');

  const after = await scrape(leader);
  const followerAfter = await scrape(follower);
  for (const f of families) {
    t.ok(after.types.has(f), `${f} is exported`);
    t.ok((after.help.get(f) ?? '').length > 20, `${f} has a help text`);
  }
  const moved = (name: string, labels: Record<string, string>, atLeast: number, b: Scrape = before, a: Scrape = after): void => {
    const d = value(a, name, labels) - (Number.isNaN(value(b, name, labels)) ? 0 : value(b, name, labels));
    t.ok(d >= atLeast, `${name}${JSON.stringify(labels)} moved by ${d} (>= ${atLeast})`);
  };

  // Raft
  t.ok(value(after, 'vnetd_raft_term') >= 1, 'term');
  t.ok(value(after, 'vnetd_raft_leader_changes_total') >= 1, 'a leader was elected');
  moved('vnetd_raft_commit_index', {}, writes);
  moved('vnetd_raft_applied_index', {}, writes);
  moved('vnetd_raft_proposals_total', { outcome: 'applied' }, writes + 2);
  moved('vnetd_raft_proposal_duration_seconds_count', {}, writes + 2);
  moved('vnetd_raft_fsync_duration_seconds_count', { op: 'save' }, 1);
  moved('vnetd_raft_fsync_duration_seconds_count', { op: 'snapshot' }, 1);
  moved('vnetd_raft_entries_per_save_sum', {}, writes);
  moved('vnetd_raft_snapshots_total', { kind: 'local' }, 1);
  moved('vnetd_raft_snapshot_duration_seconds_count', { phase: 'encode' }, 1);
  moved('vnetd_raft_snapshot_duration_seconds_count', { phase: 'persist' }, 1);
  t.ok(value(after, 'vnetd_raft_snapshot_bytes', { kind: 'local' }) > 100, 'snapshot size');
  // src/malloc (CI builds the addon; glibc): a trim follows the snapshots, off the event loop.
  t.ok(value(after, 'vnetd_process_malloc_bytes', { state: 'in_use' }) > 0, 'malloc in use');
  const trims = (s: Scrape): number => value(s, 'vnetd_process_malloc_trims_total', { released: 'true' }) + value(s, 'vnetd_process_malloc_trims_total', { released: 'false' });
  t.ok(await waitFor('a trim after the snapshots', async () => (trims(await scrape(leader)) >= 1 ? true : undefined)), 'a trim after the snapshots');
  t.same(series(after, 'vnetd_raft_peer_lag_entries').map((s) => s.labels['peer']).sort(), specs.map((s) => s.id), 'lag of every member, on the leader');
  t.same(series(after, 'vnetd_raft_peer_reachable').map((s) => `${s.labels['peer']}=${s.value}`).sort(), specs.map((s) => `${s.id}=1`), 'every member reachable');
  // IPAM
  t.equal(value(after, 'vnetd_ipam_network_used', { network: 'small' }), 5);
  t.equal(value(after, 'vnetd_ipam_network_capacity', { network: 'small' }), 20, 'two agents x two halves x 5');
  t.equal(value(after, 'vnetd_ipam_network_free', { network: 'small' }), 15);
  t.equal(value(after, 'vnetd_ipam_network_agents', { network: 'small' }), 2);
  t.equal(value(after, 'vnetd_ipam_agent_used', { network: 'small', agent: 'a1', pool: 'mesos' }), 5);
  t.equal(value(after, 'vnetd_ipam_agent_capacity', { network: 'small', agent: 'a1', pool: 'docker' }), 5);
  moved('vnetd_ipam_allocation_failures_total', { reason: 'exhausted' }, 1);
  moved('vnetd_ipam_allocation_failures_total', { reason: 'not_found' }, 1);
  // DNS
  moved('vnetd_dns_queries_total', { transport: 'udp', type: 'A', rcode: 'NOERROR' }, 1);
  moved('vnetd_dns_queries_total', { transport: 'udp', type: 'A', rcode: 'NXDOMAIN' }, 1);
  moved('vnetd_dns_queries_total', { transport: 'tcp', type: 'A', rcode: 'NOERROR' }, 1);
  moved('vnetd_dns_query_duration_seconds_count', { transport: 'udp' }, 2);
  moved('vnetd_dns_change_to_answerable_seconds_count', {}, 1);
  moved('vnetd_dns_change_to_answerable_seconds_count', {}, 1, followerBefore, followerAfter);
  t.ok(value(followerAfter, 'vnetd_dns_change_to_answerable_seconds_sum') > 0, 'the follower measured real time');
  const mean = (s: Scrape): number => value(s, 'vnetd_dns_change_to_answerable_seconds_sum') / value(s, 'vnetd_dns_change_to_answerable_seconds_count');
  t.comment(`change-to-answerable mean: leader ${(mean(after) * 1000).toFixed(2)} ms, follower ${(mean(followerAfter) * 1000).toFixed(2)} ms`);
  t.ok(mean(followerAfter) < 5, 'a plausible figure (below the 5 s of a stuck node)');
  // HTTP: the follower forwarded its writes; the leader answered them under the route pattern.
  moved('vnetd_http_requests_total', { method: 'PUT', route: '/v1/tasks/{id}', status: '201' }, 30);
  moved('vnetd_http_requests_total', { method: 'PUT', route: '/v1/tasks/{id}', status: '409' }, 1);
  moved('vnetd_http_request_duration_seconds_count', { method: 'PUT', route: '/v1/tasks/{id}' }, 32);
  moved('vnetd_http_forwarded_total', { outcome: 'answered' }, 30, followerBefore, followerAfter);
});
