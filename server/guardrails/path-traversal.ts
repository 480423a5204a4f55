/**
 * Path traversal and system-file patterns. The view has backslashes turned into slashes
 * (`..\..\windows`), and decoding has already folded `%2e%2e%2f`, `%252e`, overlong
 * `%c0%ae%c0%af`, `%u002e` and fullwidth dots into plain `../`.
 *
 * Templates (`/users/{id}`), dotted names (`/files/report.v2.pdf`), versions, IPs and
 * query strings never contain `../`, so the traversal pattern can be strict about the
 * dots and loose about what surrounds them.
 */
import type { NamedPattern } from './pattern';

export const PATH_PATTERNS: readonly NamedPattern[] = [
  // ../  ....//  ..;/  and a trailing /.. — but not an ellipsis: "(.../me/contacts)".
  { id: 'dot-dot-slash', re: /(?<!\.)(?:\.{2}|\.{4,})(?!\.)(?:;[^/\s]{0,20})?\/|\/(?:\.{2}|\.{4,})(?=$|[\s?#;'"&])|^\.{2}$/ },
  {
    id: 'unix-system-file',
    re: /(?:^|[^\w.])\/?(?:etc\/(?:passwd|shadow|group|gshadow|hosts|sudoers|issue|hostname|crontab|fstab|motd|profile|bashrc|resolv\.conf|master\.passwd|security\/|ssh\/)|proc\/(?:self|\d+)\/(?:environ|cmdline|maps|fd|status|mem|cwd|root|exe|mounts)|var\/log\/|root\/\.|home\/[\w.-]+\/\.(?:ssh|bash_history|aws|config))/,
  },
  {
    id: 'windows-system-file',
    re: /\b(?:windows|winnt)\/(?:system32|system\.ini|win\.ini|repair|debug|panther)|\bboot\.ini\b|\bwin\.ini\b|\bsystem32\/(?:config|drivers)|\bntuser\.dat\b|\binetpub\/|\b[a-z]:\/+(?:windows|winnt|users|documents and settings|program files|inetpub)\b/,
  },
  {
    id: 'secret-file',
    re: /(?:^|[/\s'"=])(?:\.ssh\/(?:id_\w+|authorized_keys|known_hosts)|\.htaccess\b|\.htpasswd\b|\.git\/(?:config|head|index)\b|\.aws\/credentials|\.bash_history|\.docker\/config\.json|web-inf\/(?:web\.xml|classes)|meta-inf\/)|\/\.env(?:\.\w+)?(?=$|[\s?#'"&])/,
  },
  { id: 'file-scheme', re: /\bfile:\/\/\/?\S/ },
  { id: 'stream-wrapper', re: /\b(?:php|phar|expect|zip|glob):\/\/\S/ },
];

/** Views for path patterns: backslashes as slashes. */
export function pathViews(flat: string): string[] {
  return [flat.includes('\\') ? flat.replace(/\\/g, '/') : flat];
}
