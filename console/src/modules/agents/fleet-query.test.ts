import { fleetQueryString, hasFilter, nextPage, pageNumber, previousPage, readFleetQuery, withFilter, type FleetQuery } from './fleet-query';

const read = (query: string) => readFleetQuery(new URLSearchParams(query));
/** What a reload of the page's URL reads back. */
const reloaded = (q: FleetQuery) => read(fleetQueryString(q));

describe('fleet query (the Agents page URL)', () => {
  it('is the plain first page with no query', () => {
    const q = read('');
    expect(q).toEqual({ filter: {}, limit: 50, cursor: null, previous: [] });
    expect(fleetQueryString(q)).toBe('');
    expect(pageNumber(q)).toBe(1);
  });

  it('keeps filter, page size and page across a reload, back to the first page', () => {
    const first = withFilter(read(''), { search: 'web', online: true, group: 'eu', label: 'env:prod', drift: true }, 100);
    const second = nextPage(first, 'c2');
    const third = nextPage(second, 'c3');
    expect(fleetQueryString(third)).toBe('?search=web&online=true&group=eu&label=env%3Aprod&drift=true&limit=100&cursor=c3&prev=%2Cc2');
    expect(reloaded(third)).toEqual(third);
    expect(pageNumber(third)).toBe(3);

    const back = previousPage(reloaded(third));
    expect(back).toEqual(second);
    expect(reloaded(back)).toEqual(second);
    expect(previousPage(back)).toEqual(first);
    expect(previousPage(first)).toEqual(first);
  });

  it('starts at the first page when the filter or page size changes', () => {
    const deep = nextPage(nextPage(read('search=a'), 'c2'), 'c3');
    expect(withFilter(deep, { online: false })).toEqual({ filter: { online: false }, limit: 50, cursor: null, previous: [] });
    expect(withFilter(deep, deep.filter, 25)).toMatchObject({ limit: 25, cursor: null, previous: [] });
  });

  it('ignores what it cannot use: unknown page sizes, booleans, cursors that are not base64url, empty values', () => {
    expect(read('limit=7&online=yes&drift=1&group=&cursor=a%2Cb')).toEqual({ filter: {}, limit: 50, cursor: null, previous: [] });
    // A shared link with a cursor but no trail: "Previous" leads to the first page.
    expect(previousPage(read('cursor=abc'))).toMatchObject({ cursor: null, previous: [] });
    expect(read('cursor=abc').previous).toEqual(['']);
  });

  it('says whether any filter is set (blank search is none)', () => {
    expect(hasFilter({ search: '  ' })).toBe(false);
    expect(hasFilter({ online: false })).toBe(true);
  });
});
