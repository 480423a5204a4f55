/**
 * Shell command injection patterns: a shell separator followed by a command, command
 * substitution, reverse-shell and download-and-run idioms, and code-level exec calls.
 *
 * Precision hazards, each handled by a rule below:
 *  - `&` in prose ("under $20 & sort by price", "Q&A") and in query strings
 *    (`?page=2&id=5`): a single `&` needs an unambiguous command or a command with
 *    shell-looking arguments, and `id=`/`cat=` (a parameter) is never a command.
 *  - backticks are markdown code spans ("the `id` field"): only commands that are never
 *    field names, or substitutions glued to a value (``name=`id` ``), count.
 *  - newlines separate lines of a normal multi-line prompt ("fields:\nid\nname"): after
 *    a newline only unambiguous recon commands or commands with path/flag arguments count.
 *
 * The shell view undoes quoting tricks first: `w'h'o'am'i`, `wh\oami`, `w^h^o^a^m^i`,
 * `cat${IFS}/etc/passwd`.
 */
import type { NamedPattern } from './pattern';

/**
 * Programs that are neither English words nor names people list in prose ("SDKs for
 * Python & Ruby", "Bash & PowerShell examples"): these count after a separator whatever
 * follows. Languages, shells and downloaders are in TOOL_ARGS instead.
 */
const STRONG =
  'whoami|uname|ifconfig|ipconfig|nslookup|netstat|ncat|netcat|nc|telnet|chmod|chown|printenv|systeminfo|tasklist|taskkill|' +
  'certutil|bitsadmin|mkfifo|busybox|xterm|nohup|crontab|useradd|sudo|wmic|mshta|rundll32|regsvr32|socat|nmap|xxd';
/** Recon commands that are never field names or prose: allowed after a newline too. */
const RECON = 'whoami|uname|ifconfig|ipconfig|nslookup|netstat|systeminfo|printenv|tasklist';
/** Short commands that are also words or field names: count only when standing alone. */
const BARE = 'id|pwd|env|ls|dir|hostname|uptime|ps|history';
/** Commands that count when followed by shell-looking arguments (flag, path, number). */
const FILE_ARGS =
  '(?:cat|more|less|head|tail|type|touch|cp|mv|rm|ls|dir|find|grep|nl|tac|od|strings|file|stat|wc)\\s+(?:-{1,2}[a-z]|[/~\\\\.$*]|[a-z]:)' +
  // "sleep 5" / "echo x" end the command ("; sleep 5 seconds between calls" is prose).
  '|(?:sleep|timeout)\\s+\\d+(?:\\.\\d+)?[smhd]?(?=\\s*(?:$|[;|&\\x60)#\\n?!]))|ping\\s+(?:-[a-z]|\\d|[\\w-]+\\.[\\w.-]+)|kill\\s+-?\\d' +
  '|echo\\s+(?:\\$|[\'"]|-[a-z]\\b|\\S+\\s*(?:$|[>|;&\\x60)]))|(?:eval|exec)\\s+\\S|export\\s+\\w+=' +
  '|net\\s+(?:user|localgroup|view|share|use)\\b|reg\\s+(?:query|add|delete)\\b|dd\\s+if=|tar\\s+-|(?:awk|sed)\\s+[\'"-]|start\\s+\\S+\\.exe' +
  '|/(?:usr/)?s?bin/\\w+';
/**
 * Interpreters, shells and downloaders with arguments. Not after a newline or inside
 * backticks: documentation and developer prompts quote `curl -X POST ...` lines.
 */
const TOOL_ARGS =
  '(?:python[23]?|perl|ruby|php|node)\\s+(?:-[a-z]|\\S+\\.(?:py|pl|rb|php|js)\\b)|(?:wget|curl)\\s+(?:-\\S|https?:|ftp:|[\\w.-]+\\.\\w+/)' +
  '|(?:ba|z|k|c|da)?sh\\s+(?:-[a-z]|/|\\S+\\.sh\\b)|(?:ba|z|k)?sh\\s*$|cmd(?:\\.exe)?\\s+/[ck]\\b|(?:powershell|pwsh)(?:\\.exe)?\\s+-\\w|base64\\s+(?:-[a-z]|/)';
const WITH_ARGS = `${FILE_ARGS}|${TOOL_ARGS}`;
/** What may follow a command name: end, whitespace or another shell token. */
const END = '(?=$|[\\s;|&\\x60)\'"<>?!,.#])';

export const COMMAND_PATTERNS: readonly NamedPattern[] = [
  { id: 'separator-command', re: new RegExp(`(?:;|\\|\\|?|&&?|\\$\\()\\s*(?:(?:${STRONG})${END}|${WITH_ARGS})`) },
  { id: 'separator-bare-command', re: new RegExp(`(?:;|\\|\\|?|&&|\\$\\()\\s*(?:${BARE})\\s*(?:$|[;|&\\x60)#\\n?!])`) },
  // $(anything): command substitution has no business in a prompt or a parameter.
  { id: 'command-substitution', re: /\$\(\s*[a-z_][\w./-]*(?:\s|\))/ },
  {
    id: 'newline-command',
    re: new RegExp(`\\n[ \\t]*(?:(?:${RECON})${END}|${FILE_ARGS}|(?:wget|crontab|nc|ncat|netcat|bash|sh)\\s+(?:-[a-z]+|https?:|/))`),
  },
  // %0aid glued to a value ("127.0.0.1%0aid") or opening the text: not a line of prose.
  { id: 'newline-bare-command', re: new RegExp(`(?:^|[\\d='"])\\n\\s*(?:${BARE})\\s*(?:$|[;|&\\n])`) },
  { id: 'backtick-strong', re: new RegExp(`\\x60\\s*(?:(?:${RECON}|wget|nc|ncat|netcat)${END}|${FILE_ARGS})[^\\x60]{0,80}\\x60`) },
  { id: 'backtick-glued', re: new RegExp(`[\\w=:'"(;|&]\\x60\\s*(?:${BARE})\\s*\\x60`) },
  { id: 'brace-expansion', re: /\{\s*(?:cat|ls|id|wget|curl|nc|bash|sh|echo|ping|whoami|uname|rm|sleep),/ },
  { id: 'ifs', re: /\$\{ifs\}|\$ifs\b/ },
  {
    id: 'reverse-shell',
    re: /\/dev\/(?:tcp|udp)\/|\b(?:ba)?sh\s+-i\b|\b(?:nc|ncat|netcat)\s+(?:-[a-z]+\s+)*(?:-[elc]\s|(?:\d{1,3}\.){3}\d{1,3}\s+\d{2,5})|>\s*&\s*\/dev\//,
  },
  {
    id: 'shell-exec-flag',
    re: /\b(?:sh|bash|zsh|cmd(?:\.exe)?|powershell(?:\.exe)?|pwsh)\s+(?:-c|\/c|\/k|-command|-enc(?:odedcommand)?|-e|-nop\b|-w\s+hidden)\s/,
  },
  {
    id: 'download-run',
    re: /\b(?:wget|curl)\s[^|;\n]{1,200}\|\s*(?:ba|z|k)?sh\b|\biex\s*\(|\binvoke-(?:expression|webrequest)\b|\bdownloadstring\s*\(|\bnew-object\s+(?:system\.)?net\.webclient/,
  },
  { id: 'interpreter-inline', re: /\b(?:python[23]?|perl|ruby|php|node)\s+-[ecr]\s+['"]/ },
  { id: 'destructive', re: /\brm\s+-[rf]{1,3}\s+(?:\/|~|\*|\.)|\bchmod\s+(?:\+x|[0-7]{3,4})\s+\S|\bmkfifo\s+\// },
  {
    id: 'code-exec-call',
    re: /\b(?:system|passthru|shell_exec|popen|proc_open|pcntl_exec|os\.system|subprocess\.\w+)\s*\(\s*['"\x60$[]|\bchild_process\b|\bgetruntime\s*\(\s*\)\s*\.\s*exec\s*\(|<\?php\b/,
  },
];

/**
 * The shell view: IFS tricks as spaces, empty expansions dropped, and quotes, backslashes
 * and carets between letters removed. Built from the canonical text (newlines kept).
 */
export function shellViews(canon: string): string[] {
  const s = canon
    .replace(/\$\{ifs\}|\$ifs(?:\$\d)?/g, ' ')
    .replace(/\$[@*]|\$\(\s*\)|\$\{\s*\}/g, '')
    .replace(/(?<=[a-z0-9])(?:''|""|\\|\^|'|")(?=[a-z0-9])/g, '')
    .replace(/[ \t]+/g, ' ');
  return s === canon ? [canon] : [canon, s];
}
