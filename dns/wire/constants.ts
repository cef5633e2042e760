// DNS numbers used on the wire (RFC 1035 §3.2, §4.1.1; RFC 6891; RFC 8482).

export const qtype = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const qclass = { IN: 1, ANY: 255 } as const;

export const rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** RFC 6891 §6.1.3: extended rcode 16 (upper 8 bits in the OPT TTL). */
  BADVERS: 16,
} as const;

export const opcode = { QUERY: 0 } as const;

/** Bits of the 16-bit flags word (RFC 1035 §4.1.1, RFC 4035 §3.2). */
export const flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** DO bit in the OPT record's TTL field (RFC 3225). */
export const ednsDoBit = 0x8000;

const typeNames: Record<number, string> = Object.fromEntries(Object.entries(qtype).map(([k, v]) => [v, k]));
const rcodeNames: Record<number, string> = Object.fromEntries(Object.entries(rcode).map(([k, v]) => [v, k]));

/** "A", "AAAA", ... or "TYPE65" for types we have no name for (RFC 3597 §5). */
export function typeName(type: number): string {
  return typeNames[type] ?? `TYPE${type}`;
}

export function rcodeName(code: number): string {
  return rcodeNames[code] ?? `RCODE${code}`;
}
