// Request/reply over a child's IPC channel: one request at a time per child (the suites drive
// their processes step by step), answered by the child's next message.
import type { Child } from './proc.js';

export const ipcLimits = {
  /** A reply that takes longer than this is a hung child: fail the suite instead of waiting forever. */
  replyWaitMsDefault: 120_000,
} as const;

export class IpcClient<Req, Reply> {
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;

  constructor(readonly child: Child) {
    child.child.on('message', (m) => {
      const w = this.waiting;
      this.waiting = null;
      w?.resolve(m as Reply);
    });
    void child.exited.then(({ code, signal }) => {
      const w = this.waiting;
      this.waiting = null;
      w?.reject(new Error(`${child.name} exited (code ${code}, signal ${signal}) before replying; log tail:\n${child.logTail()}`));
    });
  }

  request(req: Req, waitMs: number = ipcLimits.replyWaitMsDefault): Promise<Reply> {
    if (this.waiting !== null) return Promise.reject(new Error(`${this.child.name}: a request is already in flight`));
    if (!this.child.running) return Promise.reject(new Error(`${this.child.name} is not running`));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`${this.child.name}: no reply within ${waitMs} ms`));
      }, waitMs);
      this.waiting = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.child.child.send(req as object);
    });
  }
}
