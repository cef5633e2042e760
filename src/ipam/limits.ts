// Every limit of the IPAM state machine, in one place, named with its unit. Input is checked
// against these before anything is allocated for it.

import { assert } from '../../raft/core/assert.js';

export const limits = {
  /** A command larger than this is rejected before decoding. */
  commandBytesMax: 64 * 1024,
  /** Task and agent ids (they appear in URL paths). */
  idCharsMax: 255,
  /** Task names and framework names (DNS mangling later cuts labels to 63). */
  nameCharsMax: 255,
  /** DC/OS limit: Linux device names are at most 15 chars, bridges are `m-<name>`/`d-<name>`. */
  networkNameCharsMax: 13,
  portsPerTaskMax: 64,
  portNameCharsMax: 63,
  labelsPerTaskMax: 64,
  labelKeyCharsMax: 255,
  labelValueCharsMax: 1024,
  /**
   * The smallest IPv4 pool (a half, or a whole block for split "shared") is a /29: 8 addresses,
   * 5 usable after the network address, the gateway and the broadcast address.
   */
  ipv4PoolPrefixLenMax: 29,
  /** IPv6 likewise: at least 8 addresses per pool (6 usable after network address and gateway). */
  ipv6PoolPrefixLenMax: 125,
  /**
   * The VTEP MAC is the OUI plus the low 24 bits of the VTEP IP, so the VTEP subnet must be /8 or
   * narrower for MACs to be unique (REFERENCE.md §1); /30 leaves two usable addresses.
   */
  vtepPrefixLenMin: 8,
  vtepPrefixLenMax: 30,
  /** IPv4 pools up to this many addresses use a bitmap; larger ones a sparse set. */
  bitmapPoolAddressesMax: 1 << 20,
  networksMax: 1024,
  /** Also bounded by the VTEP subnet (a /20 holds 4,094 agents). */
  agentsMax: 1_000_000,
  /** Block indexes are JS numbers: a subnet never offers more blocks than this. */
  blocksPerNetworkMax: 2 ** 52,
} as const;

assert(limits.ipv4PoolPrefixLenMax <= 30, 'an IPv4 pool needs at least one usable address');
assert(limits.vtepPrefixLenMin >= 8, 'VTEP MACs carry only the low 24 bits of the VTEP IP');
assert(limits.bitmapPoolAddressesMax % 32 === 0, 'bitmap pools are whole 32-bit words');
