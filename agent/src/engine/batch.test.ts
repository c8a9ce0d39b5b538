import { Code, Flag, PacketBatch, PacketFlag, Verdict } from './batch';

describe('PacketBatch', () => {
  it('copies packets into its arena back to back and resets the engine columns', () => {
    const batch = new PacketBatch(4, 10);
    batch.verdict[1] = Verdict.Drop;
    batch.rule[1] = 7;
    expect(batch.push(Uint8Array.of(1, 2, 3), 1, 5)).toBe(0);
    expect(batch.push(Uint8Array.of(4, 5), 2, 6)).toBe(1);
    expect([batch.count, batch.offset[1], batch.length[1], batch.flags[1], batch.ifIndex[1]]).toEqual([2, 3, 2, 2, 6]);
    expect([batch.verdict[1], batch.rule[1]]).toEqual([Verdict.Accept, -1]);
    expect(batch.bytes(1)).toEqual(Uint8Array.of(4, 5));
    expect(batch.view.getUint8(3)).toBe(4);
  });

  it('refuses a packet when the slots or the arena are full', () => {
    const batch = new PacketBatch(2, 4);
    expect(batch.push(Uint8Array.of(1, 2, 3), 0, 0)).toBe(0);
    expect(batch.push(Uint8Array.of(1, 2), 0, 0)).toBe(-1); // arena
    expect(batch.push(Uint8Array.of(1), 0, 0)).toBe(1);
    expect(batch.push(Uint8Array.of(), 0, 0)).toBe(-1); // slots
    batch.clear();
    expect([batch.count, batch.push(Uint8Array.of(9), 0, 0)]).toEqual([0, 0]);
  });

  it('keeps the const enums of the packet path equal to the public flags and verdicts', () => {
    expect([Flag.Outbound, Flag.Layer2, Flag.Loopback]).toEqual([PacketFlag.Outbound, PacketFlag.Layer2, PacketFlag.Loopback]);
    expect([Code.Accept, Code.AcceptModified, Code.Drop, Code.Reroute]).toEqual([Verdict.Accept, Verdict.AcceptModified, Verdict.Drop, Verdict.Reroute]);
  });

  it('rejects a capacity the rule column cannot index', () => {
    expect(() => new PacketBatch(0)).toThrow(/capacity/);
    expect(() => new PacketBatch(70000)).toThrow(/capacity/);
  });
});
