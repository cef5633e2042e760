// Minimal reproductions of core bugs the simulator found (see raft/sim/README.md), written against
// the RaftCore contract only, so that they read without the simulator. Each names the seed that
// first showed it.
import t from 'tap';
import { RaftCore } from '../../../raft/core/raft.js';
import type { Message, RestoredState } from '../../../raft/core/types.js';
import { logIndex, nodeId, term } from '../../../raft/core/types.js';

const [n1, n2, n3, n4] = ['n1', 'n2', 'n3', 'n4'].map(nodeId) as [ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>];

/** Runs every Ready to completion (persist and apply are instant here) and returns what was sent. */
function drain(core: RaftCore): Message[] {
  const out: Message[] = [];
  while (core.hasReady()) {
    const rd = core.ready();
    out.push(...rd.messages, ...rd.messagesAfterPersist);
    core.advance(rd);
  }
  return out;
}

// Found by `npm run sim -- --seed 900136 --steps 3000 --nodes 3` (liveness, exit 3): a voter whose
// promotion has not reached it yet believes it is a learner, so it never campaigns; with check-quorum
// its lease must still run out when it stops hearing from the leader, or it refuses every vote and
// the voters that need it can never elect anyone. Dissertation §4.2.3 ignores votes only "within the
// minimum election timeout of hearing from a current leader"; etcd's tickElection resets the
// elapsed time only when it campaigns.
t.test('a follower that cannot campaign still grants votes once its leader has gone silent', async (t) => {
  const restored: RestoredState = {
    hardState: { term: term(1), vote: null, commit: logIndex(0) },
    snapshot: {
      meta: {
        index: logIndex(0),
        term: term(0),
        membership: {
          members: [
            { id: n1, role: 'voter', context: '' },
            { id: n2, role: 'voter', context: '' },
            { id: n3, role: 'voter', context: '' },
            { id: n4, role: 'learner', context: '' },
          ],
        },
      },
      data: new Uint8Array(0),
    },
    entries: [],
  };
  // random() = 0 draws the shortest election timeout, electionTicks, every time.
  const core = new RaftCore({ id: n4, electionTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: true, random: () => 0 }, restored);
  core.step({ type: 'heartbeat', from: n1, to: n4, term: term(1), commit: logIndex(0), context: '' });
  drain(core);
  for (let i = 0; i < 100; i++) core.tick(); // ten election timeouts without a word from n1
  drain(core);
  core.step({ type: 'vote', from: n2, to: n4, term: term(2), lastLogIndex: logIndex(0), lastLogTerm: term(0), transfer: false });
  const answer = drain(core).find((m) => m.type === 'voteResp' && m.to === n2);
  t.ok(answer !== undefined && answer.type === 'voteResp' && !answer.reject, `n4 grants n2's vote (got ${JSON.stringify(answer) ?? 'no answer'})`);
});
