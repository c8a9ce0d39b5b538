const IDENTIFIER_CHAR = /[A-Za-z0-9_$]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;

/**
 * A migration script's statements, split at the semicolons that end them: not at one inside a
 * string, a quoted name, a comment or a dollar-quoted body (a PL/pgSQL function). The adapter's
 * own `executeScript` splits at every semicolon, which breaks such scripts (the native
 * `prisma migrate deploy` does not).
 */
export function sqlStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const skipTo = (end: string, from: number) => {
    const at = script.indexOf(end, from);
    return at < 0 ? script.length : at + end.length;
  };
  while (i < script.length) {
    const c = script[i]!;
    if (c === "'" || c === '"') {
      // A doubled quote inside is two strings back to back: the same split.
      i = skipTo(c, i + 1);
    } else if (c === '-' && script[i + 1] === '-') {
      i = skipTo('\n', i + 2);
    } else if (c === '/' && script[i + 1] === '*') {
      i = blockCommentEnd(script, i);
    } else if (c === '$' && (i === 0 || !IDENTIFIER_CHAR.test(script[i - 1]!))) {
      const tag = DOLLAR_TAG.exec(script.slice(i, i + 64))?.[0];
      i = tag ? skipTo(tag, i + tag.length) : i + 1;
    } else if (c === ';') {
      statements.push(script.slice(start, i));
      start = ++i;
    } else {
      i++;
    }
  }
  statements.push(script.slice(start));
  return statements.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** PostgreSQL's block comments nest. */
function blockCommentEnd(script: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < script.length) {
    if (script.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (script.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return i;
}
