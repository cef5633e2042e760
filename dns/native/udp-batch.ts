// The typed face of udp-batch.c, loaded once. The addon is built by `node dist/dns/native/build.js`
// (run by npm start/test/build) next to this file in dist/; where it was not built (no C
// compiler), `loadUdpBatch()` says why and the DNS server uses node:dgram.
import { createRequire } from 'node:module';

/** An open socket inside the addon. Opaque. */
export type UdpBatchHandle = { readonly __udpBatch: unique symbol };

export interface UdpBatchStats {
  readonly batches: number;
  readonly datagrams: number;
  /** Datagrams longer than a receive slot (cut short by the kernel; dropped unanswered). */
  readonly truncated: number;
  /** Answers the kernel would not take (send buffer full) or refused; UDP drops them. */
  readonly sendDropped: number;
  /** Answers described out of bounds by the JavaScript side (a bug there); not sent. */
  readonly sendInvalid: number;
  readonly recvErrors: number;
}

export interface UdpBatchAddon {
  /** Int32 fields per received datagram in inMeta: length, flags, family, port, address[16 bytes]. */
  readonly metaInts: number;
  open(
    host: string, port: number, receiveBufferBytes: number, sendBufferBytes: number,
    inData: Uint8Array, inMeta: Int32Array, outData: Uint8Array, outMeta: Int32Array,
    slots: number, inSlotBytes: number, outSlotBytes: number, roundsMax: number,
    onBatch: (received: number) => number,
  ): UdpBatchHandle;
  localPort(handle: UdpBatchHandle): number;
  sendTo(handle: UdpBatchHandle, data: Uint8Array, family: 4 | 6, address: Uint8Array, port: number): boolean;
  stats(handle: UdpBatchHandle): UdpBatchStats;
  close(handle: UdpBatchHandle): void;
}

/** Field offsets in inMeta, as in udp-batch.c. */
export const meta = { length: 0, flags: 1, family: 2, port: 3, address: 4 } as const;
export const metaFlagTruncated = 1;

/** The addon's file, relative to this module in dist/. */
export const addonFile = new URL('./udp-batch.node', import.meta.url);

let loaded: UdpBatchAddon | Error | undefined;

/** The addon, or the Error that says why it cannot be used here. */
export function loadUdpBatch(): UdpBatchAddon | Error {
  if (loaded === undefined) {
    try {
      const addon = createRequire(import.meta.url)(addonFile.pathname) as UdpBatchAddon;
      loaded = addon.metaInts === 8 ? addon : new Error(`${addonFile.pathname} has metaInts ${addon.metaInts}, expected 8 (stale build)`);
    } catch (err) {
      loaded = new Error(`${addonFile.pathname} not loadable (${(err as Error).message.split('\n')[0]}); build it with \`node dist/dns/native/build.js\``);
    }
  }
  return loaded;
}
