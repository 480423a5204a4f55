/**
 * SQL injection patterns. They match SQL *structure* (a quote that closes a literal and
 * then comments out the rest, a tautology, UNION SELECT, a stacked statement, an
 * injection-only function), never lone keywords: "select the best plan and update the
 * order", "drop me the list of invoices" and "delete the user account" are API prompts.
 *
 * Every pattern runs on lower-cased, decoded text (normalize.ts) and on the variants
 * `sqlViews` derives: inline comments removed (`UN/**\/ION` -> `union`) and replaced by a
 * space (`UNION/**\/SELECT` -> `union select`), MySQL `/*!50000 ... *\/` unwrapped.
 */
import type { NamedPattern } from './pattern';

/** A table or column reference: `users`, `db.users`, `[users]`, "users". */
const ID = String.raw`[\w.\x60"\[\]$]+`;
/** A WHERE predicate: column, then a comparison an English sentence rarely has. */
const PREDICATE = String.raw`[\w.\x60"'()]+\s*(?:=|<>|!=|<|>|\blike\b|\bin\s*\(|\bis\s+(?:not\s+)?null\b)`;

export const SQL_PATTERNS: readonly NamedPattern[] = [
  { id: 'union-select', re: /\bunion\b(?:\s+(?:all|distinct))?\s*\(*\s*select\b/ },
  // or 1=1, and 'a'='a, having x=x: the same operand on both sides.
  {
    id: 'tautology',
    re: /\b(?:or|and|xor|having|where)(?:\s+|\s*(?=[('"\x60]))\(*\s*(['"\x60]?)([\w@.$-]{1,40})\1\s*(?:==?|<=>|\blike\b)\s*\(*\s*['"\x60]?\2(?![\w.])/,
  },
  { id: 'empty-string-tautology', re: /(['"])\s*(?:or|and|\|\|)\s*(['"])\2\s*=\s*\2/ },
  {
    id: 'numeric-comparison',
    re: /(?:\bor\b|\band\b|\bxor\b|&&|\|\|)\s*\(*\s*(['"]?)-?\d+\1\s*(?:=|<>|!=|>=?|<=?)\s*(['"]?)-?\d+\2(?![\w.])/,
  },
  // 1' and '1'='2 , x' or 'a'<'b , x' and email is null: a closed literal, then a predicate.
  {
    id: 'quoted-predicate',
    re: /['"]\s*\)*\s*(?:\band\b|\bor\b|&&|\|\|)\s+\(*\s*(?:(['"])[^'"]{0,30}\1\s*(?:=|<>|!=|<|>|\blike\b)\s*['"]|[\w.]+\s+is\s+(?:not\s+)?null\b|[\w.]+\s+(?:r?like|regexp)\s+['"])/,
  },
  { id: 'or-true', re: /['")]\s*(?:\bor\b|\|\|)\s*(?:true|not\s+false|\d+)\s*(?:--|#|\/\*|;|$)/ },
  // admin'-- , 1')# , x'/* : a closed literal followed directly by a comment.
  // Not after a backtick, "#" only before a space or the end: `--flag`, href="#anchor", `#0747a6` are docs.
  { id: 'quote-comment', re: /['"]\)*(?:--(?=[\s\-+;]|$)|#(?=\s|$)|\/\*)|['"\x60]\s*\)*\s*(?:--|#)[\s\-+]*$|['"\x60]\s*\)*\s*;\s*(?:--|#|\/\*)|;\s*--[\s\-+]*$/ },
  {
    id: 'quote-statement',
    re: /['"\x60]\s*\)*\s*;\s*(?:select|insert|update|delete|drop|exec|execute|shutdown|declare|create|alter|truncate|waitfor|union|grant)\b/,
  },
  {
    id: 'stacked-statement',
    re: new RegExp(
      String.raw`;\s*(?:(?:drop|truncate|alter|create|grant|revoke|rename)\s+(?:table|database|schema|user|view|procedure|function|trigger|index|login)\b` +
        String.raw`|shutdown\b|waitfor\s+delay\b|exec(?:ute)?\s+\S|declare\s+@|delete\s+from\b|insert\s+into\b|update\s+${ID}\s+set\b` +
        String.raw`|select\s+(?:\*|@@|\w+\s*\(|[\w.]+\s*,|[\w.]+\s+from\b))`,
    ),
  },
  {
    id: 'select-probe',
    re: /\bselect\s*(?:\*(?!\*)\s*(?:from\b|,|$)|@@\w+|(?:distinct\s+)?(?:version|user|database|current_user|system_user|session_user|schema|load_file|sleep|benchmark|pg_sleep|count|concat|group_concat|char|ascii|substring|substr)\s*\(|\(\s*select\b|null\s*(?:,\s*null\s*)+)/,
  },
  {
    id: 'select-from-where',
    re: new RegExp(String.raw`\bselect\s+[^;]{1,80}?\bfrom\s+${ID}\s*(?:where\s+${PREDICATE}|union\b)`),
  },
  { id: 'insert-into', re: new RegExp(String.raw`\binsert\s+into\s+${ID}\s*(?:\([^)]{0,200}\)\s*)?(?:values\s*\(|select\b)`) },
  {
    id: 'update-set',
    re: new RegExp(
      String.raw`\bupdate\s+${ID}\s+set\s+${ID}\s*=\s*(?:'[^']{0,80}'|"[^"]{0,80}"|[\w.-]+)\s*(?:,\s*${ID}\s*=\s*\S+\s*)*(?:where\b|;|--|#)`,
    ),
  },
  { id: 'delete-from', re: new RegExp(String.raw`\bdelete\s+from\s+${ID}\s*(?:where\s+${PREDICATE}|;|--|#)`) },
  { id: 'drop-table', re: new RegExp(String.raw`\bdrop\s+(?:table|database|schema)\s+(?:if\s+exists\s+)?${ID}\s*(?:;|--|#|\/\*|cascade\b|$)`) },
  {
    id: 'ddl',
    re: new RegExp(
      String.raw`\btruncate\s+table\s+${ID}|\balter\s+table\s+${ID}\s+(?:add|drop|modify|rename|alter)\b|\bcreate\s+table\s+${ID}\s*\(`,
    ),
  },
  {
    id: 'stored-procedure',
    re: /\bexec(?:ute)?\s*\(?\s*(?:xp_|sp_|master\.\.|@)|\bxp_(?:cmdshell|regread|dirtree|fileexist|servicecontrol)\b|\bsp_(?:executesql|oacreate|oamethod|configure|makewebtask|addlogin|addsrvrolemember|password)\b/,
  },
  {
    id: 'time-delay',
    re: /\b(?:sleep|pg_sleep)\s*\(\s*\d|\bbenchmark\s*\(\s*\d+\s*,|\bwaitfor\s+(?:delay|time)\s*['"]\s*\d|\bdbms_(?:lock\.sleep|pipe\.receive_message)\b|\brandomblob\s*\(\s*\d{5,}/,
  },
  {
    id: 'error-based',
    re: /\b(?:extractvalue|updatexml)\s*\(|\bfloor\s*\(\s*rand\s*\(|\bexp\s*\(\s*~|\bconvert\s*\(\s*int\s*,\s*\(?\s*(?:select|@@|db_name|user)|\bcast\s*\(\s*\(?\s*select\b/,
  },
  {
    id: 'schema-probe',
    re: /\binformation_schema\b|@@(?:version|datadir|hostname|basedir|servername|tmpdir)\b|\b(?:sysobjects|syscolumns|sysdatabases|sys\.(?:tables|objects|columns|databases|schemas)|mysql\.user|pg_(?:catalog|shadow|tables|database)|sqlite_(?:master|schema)|all_tables|user_tables|dba_users|msysobjects)\b/,
  },
  {
    id: 'file-io',
    re: /\bload_file\s*\(|\binto\s+(?:out|dump)file\b|\butl_(?:http|inaddr|file)\.|\bdbms_\w+\.\w+\s*\(|\bcopy\s+\w+\s+(?:from|to)\s+program\b|\blo_(?:import|export)\s*\(/,
  },
  {
    id: 'char-encoding',
    re: /\bchar\s*\(\s*\d+(?:\s*,\s*\d+)+\s*\)|\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+)|\bconcat(?:_ws)?\s*\(\s*(?:0x[0-9a-f]+|char\s*\(|@@|version\s*\(|user\s*\(|database\s*\(|['"][~:|]['"])|\bgroup_concat\s*\(/,
  },
  {
    id: 'column-probe',
    re: /\border\s+by\s+\d+(?:\s*,\s*\d+)*\s*(?:--|#|\/\*|;)|\bgroup\s+by\s+[\w.,\s\x60]{1,80}\bhaving\b|\bhaving\s+\d+\s*=\s*\d+/,
  },
  {
    id: 'boolean-blind',
    re: /(?:\bor\b|\band\b|&&|\|\|)\s*\(?\s*(?:ascii|ord|substring|substr|mid|length|char_length|exists|if)\s*\(\s*\(?\s*(?:select\b|[\w@]+\s*\(|[\w@.]+\s*,\s*\d)/,
  },
  { id: 'quote-concat-select', re: /['"]\s*(?:\|\||\+|&)\s*\(?\s*select\b/ },
  { id: 'case-when', re: /\bcase\s+when\s*\(?\s*\d+\s*(?:=|<>|!=|<|>)\s*\d+|\(\s*select\s*\(\s*case\b|\b(?:rlike|regexp)\s*\(\s*select\b/ },
  { id: 'versioned-comment', re: /\/\*!\d*\s*(?:union|select|and|or|insert|update|delete|drop|from|where)\b/ },
];

/** Unwrap MySQL version comments, then replace inline comments with `sep`. */
function stripSqlComments(s: string, sep: string): string {
  return s.replace(/\/\*!\d*([\s\S]*?)\*\//g, ' $1 ').replace(/\/\*[\s\S]*?\*\//g, sep);
}

/** The views SQL patterns run on, derived from one flat (whitespace-collapsed) view. */
export function sqlViews(flat: string): string[] {
  if (!flat.includes('/*')) return [flat];
  return [flat, stripSqlComments(flat, ' ').replace(/\s+/g, ' '), stripSqlComments(flat, '')];
}
