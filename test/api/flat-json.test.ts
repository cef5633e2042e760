// src/api/flat-json.ts reads flat string-valued JSON objects by hand. Its only contract: whatever
// it returns is exactly JSON.parse's value (same keys in the same order, same strings, a plain
// object), and it declines everything else. Checked on random objects written with random spacing
// and on random and mutated text. Replay a failure with FLAT_JSON_SEED=<seed>.
import t from 'tap';
import fc from 'fast-check';
import { flatJsonKeysMax, parseFlatObject } from '../../src/api/flat-json.js';

const seed = Number(process.env['FLAT_JSON_SEED'] ?? Date.now() % 2 ** 31);

/** Both parsers on `text`: the hand parser declined, or its value is JSON.parse's. */
function agrees(text: string): boolean {
  const fast = parseFlatObject(text);
  if (fast === undefined) return true;
  let slow: unknown;
  try {
    slow = JSON.parse(text);
  } catch {
    return false;
  }
  return Object.getPrototypeOf(fast) === Object.prototype && JSON.stringify(fast) === JSON.stringify(slow)
    && JSON.stringify(Object.keys(fast)) === JSON.stringify(Object.keys(slow as object));
}

t.test('the common bodies are read by hand, as JSON.parse reads them', async (t) => {
  for (const text of [
    '{"name":"t1","framework":"bench","agent":"agent-7","network":"bench"}',
    '{ "name": "web", "framework": "marathon", "agent": "a1" }',
    '{}',
    ' { } ',
    '{"":"empty key","2":"an index key","1":"before it"}',
  ]) {
    t.ok(parseFlatObject(text) !== undefined, `read by hand: ${text}`);
    t.ok(agrees(text), `same as JSON.parse: ${text}`);
  }
  t.same(Object.keys(parseFlatObject('{"b":"1","a":"2","1":"3"}')!), ['1', 'b', 'a'], 'index keys first, as JSON.parse orders them');
});

t.test('everything else is left to JSON.parse', async (t) => {
  for (const text of [
    '{"ports":[{"protocol":"tcp","containerPort":80}]}', '{"n":1}', '{"a":true}', '{"a":null}', '{"a":{"b":"c"}}',
    '{"a":"x\\"y"}', '{"a":"\\u0041"}', '{"a":"é"}', '{"a":"tab\tin"}', '{\n"a":"b"}', '{"a":"b"}x', '{"a":"b",}', '{"a":"b" "c":"d"}',
    '{"a":"1","a":"2"}', '{"__proto__":"x"}', '["a"]', '"a"', '', '{', '{"a"', '{"a":', '{"a":"b"',
    `{${Array.from({ length: flatJsonKeysMax + 1 }, (_, i) => `"k${i}":"v"`).join(',')}}`,
  ]) {
    t.equal(parseFlatObject(text), undefined, `declined: ${JSON.stringify(text).slice(0, 60)}`);
  }
  t.ok(parseFlatObject(`{${Array.from({ length: flatJsonKeysMax }, (_, i) => `"k${i}":"v"`).join(',')}}`) !== undefined, `${flatJsonKeysMax} keys are read`);
});

t.test(`random objects and text: declined or equal to JSON.parse, seed ${seed} (replay: FLAT_JSON_SEED=${seed})`, async (t) => {
  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 });
  const anyText = fc.string({ unit: fc.oneof(fc.constantFrom('{', '}', '"', ':', ',', ' ', '\\', 'a', '1', '\n', 'é', '_'), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 40 });
  const spaces = fc.constantFrom('', ' ', '  ');
  // Objects of strings written with random spacing: the fast path's own ground.
  const written = fc.tuple(fc.array(fc.tuple(fc.oneof(printable, fc.constantFrom('__proto__', 'constructor', '0', '10')), fc.oneof(printable, fc.string())), { maxLength: 20 }), spaces, spaces).map(([pairs, a, b]) =>
    `${a}{${pairs.map(([k, v]) => `${a}${JSON.stringify(k)}${b}:${a}${JSON.stringify(v)}${b}`).join(',')}}${b}`);
  const mutated = fc.tuple(written, fc.nat(), fc.constantFrom('', '"', '\\', ',', '}', '{', ':', 'x', '1')).map(([text, at, c]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    return text.slice(0, i) + c + text.slice(i + 1);
  });
  const r = fc.check(fc.property(fc.oneof(written, mutated, anyText), agrees), { seed, numRuns: 20_000 });
  t.notOk(r.failed, `seed ${seed}: counterexample ${JSON.stringify(r.counterexample)}`);
});
