// Command encoding for the Raft log: msgpackr without record extensions, so the bytes depend only
// on the command's fields and their order, never on what the encoder saw before.

import { Packr } from 'msgpackr';
import type { IpamCommand, IpamResult } from './types.js';
import { limits } from './limits.js';
import { invalid, validateCommand } from './validate.js';

export const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

/** The write buffer msgpackr starts with; a Buffer, as it writes strings with Buffer#utf8Write. */
const packBufferBytes = 8192;

/**
 * Encodes a large value (a snapshot) into an array of its own. msgpackr writes every pack, of
 * every Packr in the process, into one shared buffer, returns a view into it, and keeps a buffer
 * it grew for later packs (up to 1 GiB). After a 36 MB snapshot that buffer was 64 MB: the
 * snapshot's view pinned all of it until the next snapshot, and the commands packed after it (the
 * leader's log entries) landed in it too. So the bytes are copied out, and msgpackr goes back to
 * a small buffer.
 */
export function packLarge(value: unknown): Uint8Array {
  const view = packr.pack(value);
  const own = new Uint8Array(view.length);
  own.set(view);
  packr.useBuffer(Buffer.allocUnsafeSlow(packBufferBytes));
  return own;
}

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
