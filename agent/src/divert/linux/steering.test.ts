import type { Rule } from '@portfleet/proto';
import { ruleMatches, steeringScript } from './steering';

const OPTIONS = { queueNum: 7, loopbackQueueNum: 8, mark: 0x50460000, outboundMark: 0x800, forwardedMark: 0x400, failOpen: true };

function rule(selector: Rule['selector'], forwardAs: Rule['forwardAs'] = {}, enabled = true): Rule {
  return { id: 'r', enabled, activityMonitoring: false, selector, forwardAs };
}

describe('steering', () => {
  test('scenario 1: the selected ends and the forwarded-to ends, both orientations', () => {
    const matches = ruleMatches(4, rule({ direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 }), new Map());
    expect(matches).toEqual([
      { match: '-p tcp -m tcp --sport 80', fromLocal: true },
      { match: '-p tcp -m tcp --dport 80', fromLocal: false },
      { match: '-p tcp -m tcp --sport 8080', fromLocal: true },
      { match: '-p tcp -m tcp --dport 8080', fromLocal: false },
    ]);
  });

  test('DNS names: all addresses of the family for selectors, the first of the family for forward-as (as the engine forwards)', () => {
    const resolved = new Map([
      ['mail.test', ['198.18.2.2', 'fd00:2::2', '198.18.2.3']],
      ['relay.test', ['fd00:9::1', '198.18.9.1', '198.18.9.2']],
    ]);
    const r = rule({ direction: 'outbound', protocol: 'udp', remoteAddress: 'mail.test', remotePort: 25 }, { remoteAddress: 'relay.test', remotePort: 8025 });
    // relay.test's first address is IPv6; over IPv4 the engine forwards to its first IPv4 one.
    expect(ruleMatches(4, r, resolved).map((m) => m.match)).toEqual([
      '-p udp -d 198.18.2.2,198.18.2.3 -m udp --dport 25',
      '-p udp -s 198.18.2.2,198.18.2.3 -m udp --sport 25',
      '-p udp -d 198.18.9.1 -m udp --dport 8025',
      '-p udp -s 198.18.9.1 -m udp --sport 8025',
    ]);
    expect(ruleMatches(6, r, resolved).map((m) => m.match)).toEqual([
      '-p udp -d fd00:2::2 -m udp --dport 25',
      '-p udp -s fd00:2::2 -m udp --sport 25',
      '-p udp -d fd00:9::1 -m udp --dport 8025',
      '-p udp -s fd00:9::1 -m udp --sport 8025',
    ]);
  });

  test('the script: untracked in raw, injected packets skipped, forwarded ones marked, loopback to its own queue, bypass when fail-open', () => {
    const script = steeringScript(4, [rule({ direction: 'inbound', protocol: 'tcp', localPort: 80 }), rule({ direction: 'inbound', protocol: 'udp', localPort: 9 }, {}, false)], new Map(), OPTIONS);
    expect(script.split('\n')).toEqual([
      '*raw',
      ':PORTFLEET - [0:0]',
      '-A PORTFLEET -p tcp -m tcp --sport 80 -j CT --notrack',
      '-A PORTFLEET -p tcp -m tcp --dport 80 -j CT --notrack',
      'COMMIT',
      '*mangle',
      ':PORTFLEET - [0:0]',
      '-A PORTFLEET -m mark --mark 0x50460000/0x50460000 -j RETURN',
      '-A PORTFLEET -m addrtype --src-type LOCAL --dst-type LOCAL -p tcp -m tcp --sport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 65000',
      '-A PORTFLEET -m addrtype --src-type LOCAL --dst-type LOCAL -p tcp -m tcp --dport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 65000',
      '-A PORTFLEET -m addrtype ! --src-type LOCAL ! --dst-type LOCAL -p tcp -m tcp --sport 80 -j MARK --or-mark 0xc00',
      '-A PORTFLEET -m addrtype ! --src-type LOCAL ! --dst-type LOCAL -p tcp -m tcp --dport 80 -j MARK --or-mark 0x400',
      '-A PORTFLEET -m addrtype --src-type LOCAL --dst-type LOCAL -p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 8 --queue-bypass',
      '-A PORTFLEET -m addrtype --src-type LOCAL --dst-type LOCAL -p tcp -m tcp --dport 80 -j NFQUEUE --queue-num 8 --queue-bypass',
      '-A PORTFLEET -p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 7 --queue-bypass',
      '-A PORTFLEET -p tcp -m tcp --dport 80 -j NFQUEUE --queue-num 7 --queue-bypass',
      'COMMIT',
      '',
    ]);
  });

  test('fail-closed leaves out the bypass; no rules leave empty chains', () => {
    expect(steeringScript(6, [rule({ direction: 'outbound', protocol: 'udp' })], new Map(), { ...OPTIONS, failOpen: false })).not.toContain('--queue-bypass');
    expect(steeringScript(6, [], new Map(), OPTIONS)).toBe('*raw\n:PORTFLEET - [0:0]\nCOMMIT\n*mangle\n:PORTFLEET - [0:0]\nCOMMIT\n');
  });
});
