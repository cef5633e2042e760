// The vocabulary shared by raft/core, raft/storage, raft/transport, raft/node and raft/sim.
// Everything here is plain data: it crosses disks (msgpackr) and sockets (msgpackr frames), so no
// class instances, no Maps, no undefined-vs-missing distinctions that msgpackr would not keep.

declare const brand: unique symbol;
/** A value of T that has been validated as a B; create brands only in parsers that check first. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type NodeId = Brand<string, 'NodeId'>;
export type Term = Brand<number, 'Term'>;
export type LogIndex = Brand<number, 'LogIndex'>;

export const nodeId = (s: string): NodeId => s as NodeId;
export const term = (n: number): Term => n as Term;
export const logIndex = (n: number): LogIndex => n as LogIndex;

/** A member's role. Learners receive the log but never vote and never count for commit. */
export type Role = 'voter' | 'learner';

export interface Member {
  readonly id: NodeId;
  readonly role: Role;
  /** Opaque to Raft: the application's addresses for this member (JSON text in vnetd). */
  readonly context: string;
}

export interface Membership {
  readonly members: readonly Member[];
}

/** One membership change; at most one may be pending at a time. */
export type ConfChange =
  | { readonly type: 'addLearner'; readonly id: NodeId; readonly context: string }
  | { readonly type: 'promote'; readonly id: NodeId }
  | { readonly type: 'remove'; readonly id: NodeId };

/**
 * A log entry. `normal` entries carry the application's command bytes (empty for the entry every
 * new leader appends); `conf` entries carry a membership change, which Raft interprets itself.
 */
export type Entry =
  | { readonly kind: 'normal'; readonly term: Term; readonly index: LogIndex; readonly data: Uint8Array }
  | { readonly kind: 'conf'; readonly term: Term; readonly index: LogIndex; readonly change: ConfChange };

/** What must be durable before a node may vote or acknowledge (Raft §5.1, Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

export interface SnapshotMeta {
  /** The last index the snapshot covers, and its term. */
  readonly index: LogIndex;
  readonly term: Term;
  /** Membership as of `index`. */
  readonly membership: Membership;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's bytes (opaque to Raft). */
  readonly data: Uint8Array;
}

/** What a node recovers from its disk on start, handed to the core's constructor. */
export interface RestoredState {
  readonly hardState: HardState;
  /** The latest snapshot; for a fresh cluster a bootstrap snapshot at index 0 naming the voters. */
  readonly snapshot: Snapshot;
  /** The entries after snapshot.meta.index, contiguous. */
  readonly entries: readonly Entry[];
}

/** A linearizable read's answer: once the state machine has applied `index`, serve the read. */
export interface ReadState {
  readonly index: LogIndex;
  readonly context: string;
}

/** Volatile state for status and metrics; no persistence duty. */
export interface SoftState {
  readonly role: 'follower' | 'candidate' | 'precandidate' | 'leader';
  readonly leader: NodeId | null;
}

// ---- messages -------------------------------------------------------------------------------
// Every message names its sender, receiver and the sender's term. The transport sends them as
// msgpackr frames and checks their shape with `parseMessage` (raft/transport/parse-message.ts).

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

export type Message =
  | (MessageBase & { readonly type: 'preVote'; readonly lastLogIndex: LogIndex; readonly lastLogTerm: Term })
  | (MessageBase & { readonly type: 'preVoteResp'; readonly reject: boolean })
  | (MessageBase & {
      readonly type: 'vote';
      readonly lastLogIndex: LogIndex;
      readonly lastLogTerm: Term;
      /** Set by a leadership transfer: the receiver may not ignore it as disruptive (§6 / §3.10). */
      readonly transfer: boolean;
    })
  | (MessageBase & { readonly type: 'voteResp'; readonly reject: boolean })
  | (MessageBase & {
      readonly type: 'append';
      readonly prevLogIndex: LogIndex;
      readonly prevLogTerm: Term;
      readonly entries: readonly Entry[];
      readonly commit: LogIndex;
    })
  | (MessageBase & {
      readonly type: 'appendResp';
      readonly reject: boolean;
      /** On success the highest index now matched; on reject the rejected prevLogIndex. */
      readonly index: LogIndex;
      /** On reject: a hint so the leader can skip back a whole term (Raft §5.3 optimisation). */
      readonly hintIndex: LogIndex;
      readonly hintTerm: Term;
    })
  | (MessageBase & { readonly type: 'heartbeat'; readonly commit: LogIndex; readonly context: string })
  | (MessageBase & { readonly type: 'heartbeatResp'; readonly context: string })
  | (MessageBase & {
      readonly type: 'snapshot';
      readonly meta: SnapshotMeta;
      /** Byte offset of this chunk in the whole snapshot, its bytes, and the whole size. */
      readonly offset: number;
      readonly data: Uint8Array;
      readonly totalBytes: number;
    })
  | (MessageBase & {
      readonly type: 'snapshotResp';
      readonly snapshotIndex: LogIndex;
      /** Bytes received so far (the next offset wanted); `reject` asks the leader to start over. */
      readonly offset: number;
      readonly reject: boolean;
    })
  | (MessageBase & { readonly type: 'readIndex'; readonly context: string })
  | (MessageBase & {
      readonly type: 'readIndexResp';
      readonly context: string;
      readonly index: LogIndex;
      readonly reject: boolean;
    })
  | (MessageBase & { readonly type: 'timeoutNow' });

export type MessageType = Message['type'];

/**
 * The core's output. The driver must act on it in this order, then call `advance(ready)`:
 *  1. persist `snapshot` (if any), then `entries`, `hardState` — atomically, synced;
 *  2. send `messagesAfterPersist` (they acknowledge what step 1 made durable);
 *  3. restore the state machine from `snapshot` (if any), apply `committed` in order;
 *  4. hand `readStates` to waiting readers once the applied index reaches their index.
 * `messages` may be sent at once, before or during step 1 (this is how the leader's own write runs
 * in parallel with replication to followers).
 */
export interface Ready {
  /** Changed since the last Ready; for status only. */
  readonly softState: SoftState | null;
  /** Persist with `entries` in the same synced write, before `messagesAfterPersist` leave. */
  readonly hardState: HardState | null;
  /** A snapshot received from the leader: persist (step 1), then restore (step 3). */
  readonly snapshot: Snapshot | null;
  /**
   * Entries to append. An entry whose index is at or below the stored last index replaces that
   * index and everything after it (truncate the conflicting suffix in the same write).
   */
  readonly entries: readonly Entry[];
  /** Safe to send at once. */
  readonly messages: readonly Message[];
  /** Send only once `entries`, `hardState` and `snapshot` are durable. */
  readonly messagesAfterPersist: readonly Message[];
  /** Apply in order after persisting, then call advance(). */
  readonly committed: readonly Entry[];
  /** Serve each read once the applied index reaches its index. */
  readonly readStates: readonly ReadState[];
}
