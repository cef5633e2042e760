// The peers the suites compare against are Debian packages. A suite asks for the binaries it runs;
// only a missing one triggers `apt-get update` (once per run) and `apt-get install -y PACKAGE`.
import { accessSync, constants } from 'node:fs';
import { runSync } from './proc.js';

export interface Tool {
  /** Absolute path of the binary the suite runs. */
  readonly binary: string;
  /** The Debian package that installs it. */
  readonly aptPackage: string;
}

export const tools = {
  etcd: { binary: '/usr/bin/etcd', aptPackage: 'etcd-server' },
  dnsperf: { binary: '/usr/bin/dnsperf', aptPackage: 'dnsperf' },
  knotd: { binary: '/usr/sbin/knotd', aptPackage: 'knot' },
  taskset: { binary: '/usr/bin/taskset', aptPackage: 'util-linux' },
} as const satisfies Record<string, Tool>;

let aptUpdated = false;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Makes sure every tool's binary exists, installing the missing packages with apt-get. */
export function ensureTools(needed: readonly Tool[]): void {
  const missing = needed.filter((t) => !executable(t.binary));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => t.aptPackage))];
  console.log(`bench: installing ${packages.join(', ')} (missing ${missing.map((t) => t.binary).join(', ')})`);
  if (!aptUpdated) {
    runSync('apt-get', ['update']);
    aptUpdated = true;
  }
  runSync('apt-get', ['install', '-y', ...packages]);
  const still = missing.filter((t) => !executable(t.binary));
  if (still.length > 0) throw new Error(`bench: ${still.map((t) => t.binary).join(', ')} still missing after apt-get install`);
}
