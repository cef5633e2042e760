// Nothing a runtime hands vnetd-cni may make it throw or answer outside the CNI SPEC: every run
// ends with exit 0 (a result, or nothing) or exit 1 with {cniVersion, code, msg, details} and a
// known code. In-process through runPlugin (what main.ts calls); vnetd is an unused loopback port,
// so nothing is ever written. Seeded; replay with CNI_FUZZ_SEED.

import t from 'tap';
import fc from 'fast-check';
import { freePorts } from '../util/ports.js';
import { cniCodes } from '../../src/cni/errors.js';
import { runPlugin } from '../../src/cni/plugin.js';

const knownCodes = new Set<number>(Object.values(cniCodes));

t.test('random environments and configs get CNI answers (seeded)', async (t) => {
  const seed = Number(process.env['CNI_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (replay with CNI_FUZZ_SEED=${seed})`);
  const [closed] = await freePorts(1);
  const url = `http://127.0.0.1:${closed}`;
  const value = fc.oneof(fc.jsonValue(), fc.constantFrom('mesos', 'docker', 'dcos', 'a1', '1.0.0', '0.4.0', '1.1.0', 'vnetd-cni'));
  const ipam = fc.record(
    { type: value, network: value, agent: value, agentEnv: value, agentFile: fc.constant('/nonexistent/agent'), containerizer: value, token: value, extra: value },
    { requiredKeys: [] },
  ).map((x) => ({ ...x, url })); // never anything but the unused loopback port
  const config = fc.record(
    { cniVersion: fc.oneof(fc.constantFrom('0.1.0', '0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'), value), name: value, ipam, prevResult: value, args: value, 'cni.dev/valid-attachments': value },
    { requiredKeys: ['ipam'] },
  ).map((x) => JSON.stringify(x));
  const stdin = fc.oneof(config, config, fc.string({ maxLength: 100 }), fc.jsonValue().map((x) => JSON.stringify(x)));
  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('c1', 'eth0', 'a=b;c=d', 'IgnoreUnknown=1;K8S_POD_NAME=p'));
  const env = fc.record(
    { CNI_COMMAND: fc.oneof(fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'), text), CNI_CONTAINERID: text, CNI_IFNAME: text, CNI_ARGS: text },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(env, stdin, async (e, input) => {
      const out = await runPlugin({ env: e, stdin: input });
      if (out.exitCode === 0) return out.stdout === '' || typeof JSON.parse(out.stdout) === 'object';
      const err = JSON.parse(out.stdout) as Record<string, unknown>;
      return out.exitCode === 1 && knownCodes.has(err['code'] as number) && typeof err['msg'] === 'string' && typeof err['details'] === 'string' && typeof err['cniVersion'] === 'string';
    }),
    { seed, numRuns: 400 },
  );
});
