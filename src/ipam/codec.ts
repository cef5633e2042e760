// Command encoding for the Raft log: msgpackr without record extensions, so the bytes depend only
// on the command's fields and their order, never on what the encoder saw before.

import { Packr } from 'msgpackr';
import type { IpamCommand, IpamResult } from './types.js';
import { limits } from './limits.js';
import { invalid, validateCommand } from './validate.js';

export const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

/** Encodes a command for `propose`. The caller's object is encoded as is; apply() validates it. */
export function encodeCommand(cmd: IpamCommand): Uint8Array {
  return packr.pack(cmd);
}

/** Decodes and validates a command; never throws. */
export function decodeCommand(bytes: Uint8Array): IpamResult<IpamCommand> {
  if (bytes.length > limits.commandBytesMax) {
    return invalid('', `command is ${bytes.length} bytes, at most ${limits.commandBytesMax} allowed`);
  }
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err: unknown) {
    return invalid('', `not a msgpack command: ${err instanceof Error ? err.message : String(err)}`);
  }
  return validateCommand(raw);
}
