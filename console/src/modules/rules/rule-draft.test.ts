import { parseRuleInput } from '@portfleet/proto';
import type { Rule } from '@/api/types';
import { draftFromRule, emptyDraft, ruleFromDraft } from './rule-draft';
import { ENDPOINT_KEYS } from './rule-fields';

const everyField: Rule = {
  id: 'r1',
  enabled: false,
  description: 'relay web to the backend',
  activityMonitoring: true,
  selector: {
    direction: 'inbound',
    protocol: 'udp',
    localPort: 80,
    remotePort: 40000,
    localAddress: '192.0.2.1',
    remoteAddress: 'client.example.com',
    localMac: '02:00:00:00:00:01',
    remoteMac: '02:00:00:00:00:02',
    adapter: 'eth0',
  },
  forwardAs: {
    localPort: 8080,
    remotePort: 8081,
    localAddress: '192.0.2.50',
    remoteAddress: '198.51.100.9',
    localMac: '02:00:00:00:00:03',
    remoteMac: '02:00:00:00:00:04',
    adapter: '3',
    reflection: 'mirror',
    clone: true,
  },
};

describe('rule draft', () => {
  it('turns a rule with every field into a draft and back unchanged (without its id)', () => {
    const { id: _id, ...expected } = everyField;
    expect(ruleFromDraft(draftFromRule(everyField))).toEqual(expected);
  });

  it('produces rules the shared validation accepts', () => {
    const parsed = parseRuleInput(ruleFromDraft(draftFromRule(everyField)));
    expect(parsed).toMatchObject({ ok: true });
  });

  it('checks exactly the fields the rule has', () => {
    const draft = draftFromRule({ ...everyField, selector: { direction: 'outbound', protocol: 'tcp', remotePort: 25 }, forwardAs: {} });
    const on = (fields: typeof draft.selector) => ENDPOINT_KEYS.filter((k) => fields[k].on);
    expect(on(draft.selector)).toEqual(['remotePort']);
    expect(on(draft.forwardAs)).toEqual([]);
    expect(draft.reflection).toBe('none');
    expect(draft.clone).toBe(false);
  });

  it('sends only checked fields, trimmed, and leaves out an empty description, reflection none and no clone', () => {
    const draft = emptyDraft();
    draft.description = '   ';
    draft.selector.localPort = { on: true, value: ' 80 ' };
    draft.selector.remoteAddress = { on: false, value: 'typed but unchecked' };
    draft.forwardAs.localPort = { on: true, value: '8080' };
    expect(ruleFromDraft(draft)).toEqual({
      enabled: true,
      activityMonitoring: true,
      selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
      forwardAs: { localPort: 8080 },
    });
  });

  it('sends a port that is not a number as typed, so the controller names the field', () => {
    const draft = emptyDraft();
    draft.forwardAs.remotePort = { on: true, value: '80a' };
    const rule = ruleFromDraft(draft);
    expect(rule.forwardAs.remotePort).toBe('80a');
    const parsed = parseRuleInput(rule);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map((e) => e.field)).toEqual(['forwardAs.remotePort']);
  });
});
