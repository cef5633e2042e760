// The IPAM state machine's public surface (see README.md in this folder).
export type * from './types.js';
export { ipamErrorCodes, defaultVtepSubnet, defaultVtepMacOui, vxlanVni, vxlanVtepName } from './types.js';
export { encodeCommand, decodeCommand } from './codec.js';
export { IpamStateMachine } from './state-machine.js';
export { limits as ipamLimits } from './limits.js';
export { parseIpv4, parseIpv6, formatIpv4, formatIpv6, parseCidr4, parseCidr6 } from './addr.js';
export type { Ipv4, Ipv6, Cidr4, Cidr6 } from './addr.js';
