// Command encoding for the Raft log: msgpackr without record extensions, so the bytes depend only
// on the command's fields and their order, never on what the encoder saw before.

import { Packr } from 'msgpackr';
import type { IpamCommand, IpamResult } from './types.js';
import { limits } from './limits.js';
import { readAllocateTask } from './task-reader.js';
import { invalid, validateCommand } from './validate.js';

export const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

/** The write buffer msgpackr starts with; a Buffer, as it writes strings with Buffer#utf8Write. */
const packBufferBytes = 8192;

/** Room a presized buffer leaves over the expected size before the result is copied out instead. */
const largeSlack = 1.125;

/**
 * Encodes a large value (a snapshot) into an array of its own. msgpackr writes every pack, of
 * every Packr in the process, into one shared buffer, returns a view into it, and keeps a buffer
 * it grew for later packs (up to 1 GiB). After a 36 MB snapshot that buffer was 64 MB: the
 * snapshot's view pinned all of it until the next snapshot, and the commands packed after it (the
 * leader's log entries) landed in it too. So msgpackr packs into a buffer of the value's own,
 * sized from `expectedBytes` (it then needs no doubling from 8 KiB, 120 MB of allocations for a
 * 36 MB snapshot), and goes back to a small one after. The result is copied out only when msgpackr
 * had to grow the buffer or left it much larger than the bytes.
 */
export function packLarge(value: unknown, expectedBytes = 0): Uint8Array {
  packr.useBuffer(Buffer.allocUnsafeSlow(Math.max(packBufferBytes, Math.ceil(expectedBytes))));
  let view: Uint8Array;
  try {
    view = packr.pack(value);
  } finally {
    packr.useBuffer(Buffer.allocUnsafeSlow(packBufferBytes));
  }
  if (view.byteOffset === 0 && view.buffer.byteLength <= view.length * largeSlack) return view;
  const own = new Uint8Array(view.length);
  own.set(view);
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
  const task = readAllocateTask(bytes);
  if (task !== undefined) return { ok: true, value: task };
  let raw: unknown;
  try {
    // Through a view of its own: msgpackr caches a DataView on the array it reads (a property and
    // an 80-byte object), and `bytes` is a log entry that stays in memory until compaction, up to
    // 2 x snapshotEntries of them (a node's heap snapshot at 300,000 tasks: 12% of its heap).
    raw = packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (err: unknown) {
    return invalid('', `not a msgpack command: ${err instanceof Error ? err.message : String(err)}`);
  }
  return validateCommand(raw);
}
