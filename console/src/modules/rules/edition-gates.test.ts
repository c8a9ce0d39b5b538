import type { Edition, EditionLimits } from '@/api/types';
import { EDITIONS } from '@portfleet/proto';
import { endpointFeature, gatesFor } from './edition-gates';

const table = EDITIONS as Record<Edition, EditionLimits>;

describe('edition gates', () => {
  it('lets the Trial use every field', () => {
    const gate = gatesFor('trial', table.trial, table);
    expect(['descriptions', 'ipAddresses', 'macAddresses', 'adapters', 'cloneAndReflection'].map((f) => gate(f as never))).toEqual([null, null, null, null, null]);
  });

  it('names the feature, the edition and where to get it', () => {
    const gate = gatesFor('pro', table.pro, table);
    expect(gate('ipAddresses')).toBeNull();
    expect(gate('macAddresses')).toBe('MAC address select/rewrite: not included in the Pro edition (available in Ultimate)');
    expect(gatesFor('basic', table.basic, table)('descriptions')).toBe('Rule descriptions: not included in the Basic edition (available in Pro or Ultimate)');
  });

  it('maps endpoint fields to features; ports are in every edition', () => {
    expect(endpointFeature('localPort')).toBeNull();
    expect(endpointFeature('remoteAddress')).toBe('ipAddresses');
    expect(endpointFeature('localMac')).toBe('macAddresses');
    expect(endpointFeature('adapter')).toBe('adapters');
  });
});
