export * from './storage.js';
export { LevelStorage } from './level-storage.js';
export { syncDirectory } from './sync-dir.js';
export { MemoryStorage } from './memory-storage.js';
export { crc32c } from './crc32c.js';
