import { sqlStatements } from './sql-statements';

describe('sqlStatements', () => {
  it('splits at the semicolons that end statements', () => {
    expect(sqlStatements('CREATE TABLE a (x int);\n\nALTER TABLE a ADD y int;\n')).toEqual(['CREATE TABLE a (x int)', 'ALTER TABLE a ADD y int']);
  });

  it('keeps semicolons inside strings, quoted names and comments', () => {
    const script = [
      "-- one; two\nINSERT INTO a VALUES ('x;y', 'it''s; ok')",
      'SELECT 1 AS "odd;name"',
      '/* a; /* nested; */ still; */ SELECT 2',
    ].join(';\n');
    expect(sqlStatements(`${script};`)).toEqual([
      "-- one; two\nINSERT INTO a VALUES ('x;y', 'it''s; ok')",
      'SELECT 1 AS "odd;name"',
      '/* a; /* nested; */ still; */ SELECT 2',
    ]);
  });

  it('keeps a dollar-quoted function body whole, with or without a tag', () => {
    const fn = 'CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM t;\n  RETURN NULL;\nEND\n$$';
    const tagged = "CREATE FUNCTION g() RETURNS text LANGUAGE plpgsql AS $body$ BEGIN RETURN '$$;'; END $body$";
    expect(sqlStatements(`${fn};\n${tagged};\nCREATE TRIGGER x AFTER DELETE ON t FOR EACH STATEMENT EXECUTE FUNCTION f();`)).toEqual([
      fn,
      tagged,
      'CREATE TRIGGER x AFTER DELETE ON t FOR EACH STATEMENT EXECUTE FUNCTION f()',
    ]);
  });

  it('reads a $ inside a name or a positional parameter as no quote', () => {
    expect(sqlStatements('SELECT a$b FROM t; SELECT $1; SELECT 3')).toEqual(['SELECT a$b FROM t', 'SELECT $1', 'SELECT 3']);
  });

  it('leaves out empty statements; an unterminated quote runs to the end', () => {
    expect(sqlStatements(';;  ;\n')).toEqual([]);
    expect(sqlStatements("SELECT 'open; still")).toEqual(["SELECT 'open; still"]);
  });
});
