import { summarizeRule } from './summarize-rule';

describe('summarizeRule', () => {
  it('reads as selector → forward-as', () => {
    expect(summarizeRule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } }))
      .toBe('inbound TCP local :80 → local :8080');
  });

  it('brackets IPv6 addresses that carry a port, and names MACs, adapters, reflection and cloning', () => {
    expect(summarizeRule({
      selector: { direction: 'outbound', protocol: 'udp', remoteAddress: '2001:db8::5', remotePort: 53, localMac: 'aa:bb:cc:dd:ee:ff', adapter: 'eth1' },
      forwardAs: { remoteAddress: '2001:db8::6', adapter: 'eth2', reflection: 'route', clone: true },
    })).toBe('outbound UDP local (aa:bb:cc:dd:ee:ff) remote [2001:db8::5]:53 on eth1 → remote 2001:db8::6 via eth2 route reflection as a clone');
  });

  it('says when traffic is only monitored', () => {
    expect(summarizeRule({ selector: { direction: 'outbound', protocol: 'tcp', remotePort: 80 }, forwardAs: {} }))
      .toBe('outbound TCP remote :80 → unchanged (monitor only)');
  });
});
