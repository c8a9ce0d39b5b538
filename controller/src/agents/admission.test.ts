import { Admission } from './admission';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Admission', () => {
  it('runs at most `limit` at once, the rest in arrival order', async () => {
    const admission = new Admission(2);
    const release: (() => void)[] = [];
    const started: number[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      admission.run(() => false, () => new Promise<number>((done) => { started.push(i); release.push(() => done(i)); })),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(admission.queued()).toBe(2);
    release[0]!();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    release[1]!();
    release[2]!();
    await tick();
    release[3]!();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(admission.queued()).toBe(0);
  });

  it('drops waiters whose stream went away without running their work', async () => {
    const admission = new Admission(1);
    let finishFirst!: () => void;
    const first = admission.run(() => false, () => new Promise<string>((done) => (finishFirst = () => done('first'))));
    let gone = false;
    const work = jest.fn(async () => 'abandoned');
    const abandoned = admission.run(() => gone, work);
    const third = admission.run(() => false, async () => 'third');
    await tick();
    gone = true;
    finishFirst();
    expect(await Promise.all([first, abandoned, third])).toEqual(['first', undefined, 'third']);
    expect(work).not.toHaveBeenCalled();
    // The slot came back: a new run starts at once.
    expect(await admission.run(() => false, async () => 'again')).toBe('again');
  });
});
