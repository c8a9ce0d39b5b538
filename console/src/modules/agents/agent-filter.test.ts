import { parseTags } from './agent-filter';

describe('fleet tags', () => {
  it('parses typed tag lists', () => {
    expect(parseTags(' web, db , ,web')).toEqual(['web', 'db']);
  });
});
