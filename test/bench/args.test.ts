// The suites' shared option parser: common options, string options and value-less flags.
import t from 'tap';
import { parseSuiteArgs } from '../../bench/lib/args.js';

const defaults = { seconds: 10, repeats: 3, warmupSeconds: 2 };

t.test('a flag is true when given and false when not', async (t) => {
  t.equal(parseSuiteArgs(['--skip-apply'], defaults, [], ['skip-apply'] as const).flags['skip-apply'], true);
  t.equal(parseSuiteArgs([], defaults, [], ['skip-apply'] as const).flags['skip-apply'], false);
});

t.test('a flag takes no value: a value after it is refused, not read as the flag', async (t) => {
  t.throws(() => parseSuiteArgs(['--skip-apply', '1'], defaults, [], ['skip-apply'] as const), /positional|Unexpected argument/i);
});

t.test('string options, common options and flags together', async (t) => {
  const o = parseSuiteArgs(['--seconds', '5', '--records-size', '1000', '--skip-apply'], defaults, ['records-size'] as const, ['skip-apply'] as const);
  t.equal(o.seconds, 5);
  t.equal(o.repeats, 3);
  t.equal(o.extra['records-size'], '1000');
  t.equal(o.flags['skip-apply'], true);
});

t.test('an unknown option or a bad number is refused with its name', async (t) => {
  t.throws(() => parseSuiteArgs(['--skip'], defaults, [], ['skip-apply'] as const), /skip/);
  t.throws(() => parseSuiteArgs(['--seconds', '0'], defaults), /--seconds must be a positive number/);
});
