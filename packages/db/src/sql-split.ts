/**
 * Splits a SQL script into statements at top-level semicolons, respecting quotes ('...', "..."), dollar-quoted
 * bodies ($$...$$, $tag$...$tag$) and comments (-- and nested block comments). Needed for migrations that must
 * run outside a transaction (CREATE INDEX CONCURRENTLY): a multi-statement simple query is an implicit
 * transaction block in PostgreSQL.
 */
export function splitSqlStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  while (i < n) {
    const ch = script[i];
    const next = script[i + 1];
    if (ch === "-" && next === "-") {
      const end = script.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
    } else if (ch === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (script[i] === "/" && script[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (script[i] === "*" && script[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (ch === "'" || ch === '"') {
      i++;
      while (i < n) {
        if (script[i] === ch) {
          if (script[i + 1] === ch)
            i += 2; // doubled quote inside the literal
          else {
            i++;
            break;
          }
        } else i++;
      }
    } else if (ch === "$") {
      const tag = /^\$[A-Za-z_][A-Za-z0-9_]*\$|^\$\$/.exec(script.slice(i, i + 64));
      if (tag) {
        const close = script.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? n : close + tag[0].length;
      } else i++;
    } else if (ch === ";") {
      pushStatement(statements, script.slice(start, i));
      i++;
      start = i;
    } else i++;
  }
  pushStatement(statements, script.slice(start));
  return statements;
}

function pushStatement(statements: string[], text: string): void {
  const withoutComments = text
    .replace(/--[^\n]*/g, "")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .trim();
  if (withoutComments.length > 0) statements.push(text.trim());
}
