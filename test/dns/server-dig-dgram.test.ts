// server-dig's protocol checks again, with UDP through node:dgram instead of the batching addon:
// the fallback where no C compiler built it (VNETD_DNS_UDP_IO is read by startDnsServer).
import t from 'tap';
import { startDnsServer } from '../../dns/server/dns-server.js';
import { sampleZone } from './helpers.js';

process.env['VNETD_DNS_UDP_IO'] = 'dgram';

t.test('VNETD_DNS_UDP_IO=dgram selects node:dgram', async (t) => {
  const server = await startDnsServer({ zone: sampleZone() });
  t.teardown(() => server.close());
  t.equal(server.udp.io, 'dgram');
});

await import('./server-dig.test.js');
