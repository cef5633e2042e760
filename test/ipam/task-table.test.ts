// KeyedTable (src/ipam/task-table.ts), the id -> task index, against a Map model: random add /
// delete / get / replace sequences over a small key space (so probe runs collide, wrap around the end of the
// table and are shifted back on delete) and through several doublings.
import t from 'tap';
import fc from 'fast-check';
import { KeyedTable, SeededTable } from '../../src/ipam/task-table.js';

const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);

interface Item {
  readonly id: string;
  readonly n: number;
}

type Op = { kind: 'add' | 'delete' | 'get' | 'replace'; key: number };

function check(ops: readonly Op[], keySpace: number): string | null {
  const table = new KeyedTable<Item>();
  const model = new Map<string, Item>();
  for (const [i, op] of ops.entries()) {
    const id = `task-${op.key % keySpace}`;
    if (op.kind === 'add') {
      const item = { id, n: i };
      const added = table.add(item);
      if (added !== !model.has(id)) return `op ${i}: add ${id} returned ${added}`;
      if (added) model.set(id, item);
    } else if (op.kind === 'replace') {
      const item = { id, n: i };
      const replaced = table.replace(id, item);
      if (replaced !== model.has(id)) return `op ${i}: replace ${id} returned ${replaced}`;
      if (replaced) model.set(id, item);
    } else if (op.kind === 'delete') {
      const removed = table.delete(id);
      if (removed !== model.get(id)) return `op ${i}: delete ${id} returned ${JSON.stringify(removed)}`;
      model.delete(id);
    } else if (table.get(id) !== model.get(id)) {
      return `op ${i}: get ${id} differs`;
    }
    if (table.size !== model.size) return `op ${i}: size ${table.size} != ${model.size}`;
  }
  // Every key of the model is found, and iteration yields exactly the model's values.
  for (const [id, item] of model) if (table.get(id) !== item || !table.has(id)) return `final: ${id} lost`;
  const listed = [...table.values()].map((v) => v.id).sort();
  if (listed.join() !== [...model.keys()].sort().join()) return `values() lists ${listed.length}, model ${model.size}`;
  return null;
}

const op = fc.record({ kind: fc.constantFrom<Op['kind']>('add', 'add', 'delete', 'get', 'replace'), key: fc.nat() });

t.test('KeyedTable equals a Map model', async (t) => {
  for (const keySpace of [7, 40, 300]) {
    const r = fc.check(fc.property(fc.array(op, { minLength: 50, maxLength: 600, size: 'max' }), (ops) => check(ops, keySpace) === null), { seed, numRuns: 150 });
    t.notOk(r.failed, `keys ${keySpace}: seed ${seed} ${r.counterexample ? check(r.counterexample[0], keySpace) : ''}`);
  }
});

t.test('KeyedTable: 100,000 ids in, every other one out, the rest still found', async (t) => {
  const table = new KeyedTable<Item>();
  let added = 0;
  for (let i = 0; i < 100_000; i++) if (table.add({ id: `t${i}`, n: i })) added++;
  t.equal(added, 100_000, 'every new id is added');
  for (let i = 0; i < 100_000; i += 2) table.delete(`t${i}`);
  t.equal(table.size, 50_000);
  let found = 0;
  for (let i = 0; i < 100_000; i++) if ((table.get(`t${i}`)?.n === i) === (i % 2 === 1)) found++;
  t.equal(found, 100_000, 'odd ids found with their values, even ids gone');
  t.notOk(table.add({ id: 't1', n: -1 }), 'a present id is not added twice');
  t.equal(table.get('t1')?.n, 1);
  t.ok(table.replace('t1', { id: 't1', n: -1 }), 'replace takes a present id');
  t.equal(table.get('t1')?.n, -1, 'and stores the new value');
  t.equal(table.size, 50_000, 'in the same slot');
  t.throws(() => table.replace('t3', { id: 't5', n: 5 }), /does not answer to the key t3/, 'a replacement under another key is a bug');
});

// SeededTable as src/records' PTR index uses it: one value stored under two keys (a task's IPv4
// and IPv6 address), `matches` accepting either. Deleting one key must leave the other slot.
class TwoKeys extends SeededTable<{ readonly a: string; readonly b: string }> {
  protected matches(v: { readonly a: string; readonly b: string }, key: string): boolean {
    return v.a === key || v.b === key;
  }
  add(key: string, v: { readonly a: string; readonly b: string }): boolean {
    return this.insert(key, v);
  }
}

t.test('SeededTable: a value under two keys against a Map model', async (t) => {
  const r = fc.check(
    fc.property(fc.array(fc.record({ del: fc.boolean(), n: fc.nat({ max: 60 }), second: fc.boolean() }), { minLength: 20, maxLength: 400 }), (ops) => {
      const table = new TwoKeys();
      const model = new Map<string, { a: string; b: string }>();
      for (const op of ops) {
        const v = { a: `a${op.n}`, b: `b${op.n}` };
        const key = op.second ? v.b : v.a;
        if (op.del) {
          if (table.delete(key) !== model.get(key)) return false;
          model.delete(key);
        } else if (!model.has(v.a) && !model.has(v.b)) {
          if (!table.add(v.a, v) || !table.add(v.b, v)) return false;
          model.set(v.a, v).set(v.b, v);
        }
        if (table.size !== model.size) return false;
      }
      for (let n = 0; n <= 60; n++) for (const key of [`a${n}`, `b${n}`]) if (table.get(key) !== model.get(key)) return false;
      return true;
    }),
    { seed, numRuns: 300 },
  );
  t.notOk(r.failed, `seed ${seed}: ${r.counterexample ? JSON.stringify(r.counterexample) : ''}`);
});
