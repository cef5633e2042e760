// Asking a running vnetd's DNS listener two ways — `dig` (bind9-dnsutils) and our own dns-packet
// client over UDP — and insisting they read the same answer, so every check below holds for a
// real resolver library and for the bytes themselves.
import { askUdp, dig, type Reply } from '../dns/helpers.js';
import { call, type VnetdNode } from '../api/harness.js';

export interface Seen {
  readonly rcode: string;
  /** Answer data of the asked type, sorted. */
  readonly data: string[];
  readonly reply: Reply;
}

function dataOf(r: Reply, type: string): string[] {
  return r.answers.filter((a) => a.type === type).map((a) => a.data).sort();
}

/** The DNS port of a node (its --dns HOST:PORT). */
export function dnsPort(node: { readonly dns: string }): number {
  return Number(node.dns.split(':').pop());
}

/**
 * Asks `name`/`type` with dig and with dns-packet; throws if the two disagree on rcode, answer
 * data, or the authority section's types. Returns the dns-packet reading.
 */
export async function ask(port: number, name: string, type: string): Promise<Seen> {
  const [viaDig, viaPacket] = await Promise.all([dig(port, [name, type]), askUdp(port, name, type)]);
  const a = { rcode: viaDig.rcode, data: dataOf(viaDig, type), auth: viaDig.authorities.map((x) => x.type) };
  const b = { rcode: viaPacket.rcode, data: dataOf(viaPacket, type), auth: viaPacket.authorities.map((x) => x.type) };
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(`dig and dns-packet disagree on ${name} ${type}: dig ${JSON.stringify(a)} / dns-packet ${JSON.stringify(b)}\n${viaDig.raw}`);
  }
  return { rcode: b.rcode, data: b.data, reply: viaPacket };
}

/** The SOA serial a node answers now. */
export async function soaSerial(port: number, zone = 'dcos.'): Promise<number> {
  const r = await askUdp(port, zone, 'SOA');
  const soa = r.answers.find((a) => a.type === 'SOA');
  if (soa === undefined) throw new Error(`no SOA for ${zone}: ${r.rcode}`);
  return Number(soa.data.split(' ')[2]);
}

/** The applied index a node reports on a local read (X-Vnetd-Applied-Index). */
export async function appliedIndex(node: VnetdNode): Promise<number> {
  const r = await call(node.url, 'GET', '/v1/networks');
  const h = r.headers.get('x-vnetd-applied-index');
  if (h === null) throw new Error(`${node.id}: no X-Vnetd-Applied-Index header (status ${r.status})`);
  return Number(h);
}

/** RFC 1035 §3.5 reverse name of an IPv4 address. */
export function reverse4(ip: string): string {
  return ip.split('.').reverse().join('.') + '.in-addr.arpa.';
}
