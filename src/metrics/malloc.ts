// glibc malloc figures (src/malloc): what the C heap holds free, and the trims that give it back.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MallocInfo, TrimStats } from '../malloc/malloc.js';

export interface MallocSource {
  info(): MallocInfo;
  stats(): TrimStats;
}

export function registerMallocMetrics(registry: Registry, source: MallocSource): void {
  new Gauge({
    name: 'vnetd_process_malloc_bytes',
    help: "glibc malloc's heap and arenas by state (in_use, free: what a trim can give back), and blocks mmapped on their own (mmapped)",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const i = source.info();
      this.set({ state: 'in_use' }, i.inUseBytes);
      this.set({ state: 'free' }, i.freeBytes);
      this.set({ state: 'mmapped' }, i.mmappedBytes);
    },
  });
  new Counter({
    name: 'vnetd_process_malloc_trims_total',
    help: 'malloc_trim calls (after snapshots, and when much is free), by whether glibc gave memory back',
    labelNames: ['released'],
    registers: [registry],
    collect() {
      this.reset();
      const s = source.stats();
      this.inc({ released: 'true' }, s.released);
      this.inc({ released: 'false' }, s.trims - s.released);
    },
  });
}
