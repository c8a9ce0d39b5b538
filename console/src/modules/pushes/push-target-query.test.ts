import { countsOf } from './push-counts';
import { matchingTargets, nextTargetPage, previousTargetPage, readTargetQuery, statesOf, targetQueryString, withTargetView, type TargetQuery } from './push-target-query';

const read = (query: string) => readTargetQuery(new URLSearchParams(query));
const reloaded = (q: TargetQuery) => read(targetQueryString(q));

describe('target query (the push page URL)', () => {
  it('is all targets, first page, with no query', () => {
    const q = read('');
    expect(q).toEqual({ view: '', limit: 50, cursor: null, previous: [] });
    expect(targetQueryString(q)).toBe('');
    expect(statesOf(q.view)).toEqual([]);
  });

  it('keeps the view, page size and page across a reload, and goes back page by page', () => {
    const first = withTargetView(read(''), 'failed', 25);
    const second = nextTargetPage(first, 'c2');
    const third = nextTargetPage(second, 'c3');
    expect(targetQueryString(third)).toBe('?state=failed&limit=25&cursor=c3&prev=%2Cc2');
    expect(reloaded(third)).toEqual(third);
    expect(previousTargetPage(reloaded(third))).toEqual(second);
    expect(previousTargetPage(second)).toEqual(first);
    expect(previousTargetPage(first)).toEqual(first);
  });

  it('starts at the first page for another view; ignores views, sizes and cursors it does not know', () => {
    expect(withTargetView(nextTargetPage(read('state=failed'), 'c2'), 'unfinished')).toEqual({ view: 'unfinished', limit: 50, cursor: null, previous: [] });
    expect(read('state=bogus&limit=7&cursor=a,b')).toEqual({ view: '', limit: 50, cursor: null, previous: [] });
    expect(statesOf('unfinished')).toEqual(['waiting', 'pending', 'delivered']);
  });

  it('counts the targets a view keeps from the push counts', () => {
    const counts = countsOf({ applied: 5, failed: 2, pending: 1, delivered: 3 });
    expect([matchingTargets('', counts), matchingTargets('failed', counts), matchingTargets('unfinished', counts)]).toEqual([11, 2, 4]);
  });
});
