// The toolchain works: the compiled test runs and the shared Raft vocabulary is importable.
import t from 'tap';
import { logIndex, term } from '../raft/core/types.js';

t.test('brands are plain values at run time', async (t) => {
  t.equal(logIndex(3) + 1, 4);
  t.equal(term(2), 2);
});
