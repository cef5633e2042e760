// The one error type of the dns/ layer (STYLE.md rule 8). Thrown only at its edges: by the zone
// index for bad names or records from its filler, and by configuration parsing. Packets from the
// network never produce an exception: they produce an rcode (FORMERR, NOTIMP, ...) or are dropped.

export const dnsErrorCodes = ['bad-name', 'bad-record', 'outside-zone', 'bad-config', 'bad-serial'] as const;
export type DnsErrorCode = (typeof dnsErrorCodes)[number];

export class DnsError extends Error {
  readonly code: DnsErrorCode;
  constructor(code: DnsErrorCode, message: string) {
    super(message);
    this.name = 'DnsError';
    this.code = code;
  }
}
