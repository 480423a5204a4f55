/**
 * Cross-site scripting patterns: script-capable tags, event-handler attributes, script
 * URLs, DOM sinks and dialog probes. A bare `<id>` placeholder, "create a price alert",
 * "the JavaScript SDK" or "a regular expression (regex)" must not match, so each pattern
 * needs markup or call syntax around the keyword.
 *
 * Runs on lower-cased decoded text with whitespace collapsed, and on a view with tabs and
 * newlines removed, because browsers drop them inside URL schemes (`java&#9;script:`).
 */
import type { NamedPattern } from './pattern';

/** Event-handler attribute names (the ones used in published filter-evasion payloads). */
const EVENTS =
  'load|error|mouse\\w{2,8}|click|dblclick|focus(?:in|out)?|blur|key(?:up|down|press)|submit|change|input|toggle|begin|end|' +
  'animation\\w{3,9}|transition\\w{3,9}|pointer\\w{2,8}|drag\\w{0,5}|drop|copy|cut|paste|wheel|scroll|resize|select|abort|' +
  'unload|beforeunload|hashchange|message|show|play(?:ing)?|pause|touch\\w{3,6}|auxclick|contextmenu|readystatechange|' +
  'afterprint|beforeprint|invalid|search|loadstart|loadend|progress|canplay\\w{0,7}|ended|volumechange|seek(?:ed|ing)|pageshow|popstate';

export const XSS_PATTERNS: readonly NamedPattern[] = [
  { id: 'script-tag', re: /<\s*\/?\s*(?:[\w-]+:)?script\b/ },
  { id: 'embedding-tag', re: /<\s*(?:iframe|frame|frameset|object|embed|applet|isindex|portal)\b/ },
  {
    id: 'meta-base-link',
    re: /<\s*meta\b[^>]{0,200}?(?:http-equiv|url\s*=)|<\s*base\b[^>]{0,200}?\bhref\s*=|<\s*link\b[^>]{0,200}?\brel\s*=\s*['"]?\s*import/,
  },
  // <img src=x onerror=...>, <svg/onload=...>: any on* attribute inside a tag.
  { id: 'tag-event-handler', re: /<\s*[a-z][\w:-]*(?=[\s/"'\x60])[^>]{0,300}?[\s/"'\x60;]on[a-z]{3,30}\s*=/ },
  // " onmouseover="...: breaking out of an attribute value into a handler.
  { id: 'attribute-breakout', re: new RegExp(`['"\\x60]\\s*(?:/\\s*)?on(?:${EVENTS})\\s*=`) },
  {
    id: 'handler-call',
    re: /\bon[a-z]{3,30}\s*=\s*['"\x60]?\s*(?:alert|prompt|confirm|eval|javascript:|document\.|window\.|top\.|self\.|this\.|location\b|fetch\s*\(|import\s*\(|settimeout|setinterval|string\.fromcharcode|atob\s*\()/,
  },
  { id: 'script-url', re: /\b(?:javascript|vbscript|livescript|mocha)\s*:(?:\/\/|[^\s]{0,80}?[(\x60=])/ },
  {
    id: 'url-attribute-scheme',
    re: /\b(?:href|src|action|formaction|data|xlink:href|background|dynsrc|lowsrc|poster|codebase|srcset)\s*=\s*['"\x60]?\s*(?:javascript|vbscript|livescript|data\s*:\s*(?:text\/html|image\/svg|application\/(?:x-)?(?:java|ecma)script))/,
  },
  { id: 'data-url-html', re: /\bdata\s*:\s*(?:text\/html|image\/svg\+xml|application\/(?:x-)?(?:java|ecma)script)\s*[;,]/ },
  { id: 'srcdoc', re: /\bsrcdoc\s*=/ },
  // alert(1), prompt`1`, confirm(document.cookie): the classic probe calls, no space before "(".
  { id: 'dialog-call', re: /\b(?:alert|prompt|confirm)(?:\(\s*(?:['"\x60\d/]|document\b|window\b|this\b|string\b|location\b|self\b|top\b|\))|\x60)/ },
  {
    id: 'dom-sink',
    re: /\bdocument\s*\.\s*(?:cookie|write(?:ln)?|domain)\b|\b(?:window|document|top|self)\s*\.\s*location\s*(?:\.\s*href\s*)?=|\binnerhtml\s*=|\bstring\s*\.\s*fromcharcode\s*\(|\beval\s*\(\s*(?:atob|unescape|decodeuri|string|['"\x60]|location|name\b)/,
  },
  {
    id: 'css-script',
    re: /\bstyle\s*=\s*['"]?[^'">]{0,200}?(?:expression\s*\(|url\s*\(\s*['"]?\s*javascript:)|<\s*style\b[^>]{0,100}>[^<]{0,300}?(?:expression\s*\(|javascript:|@import|behavior\s*:)|-moz-binding\s*:|\bbehavior\s*:\s*url\s*\(/,
  },
  { id: 'template-injection', re: /\{\{[^}]{0,100}?(?:constructor|\$eval|\$on\b|alert\s*\(|__proto__)/ },
];

/** Views for XSS patterns: the flat text and the same with tab/CR/LF removed. */
export function xssViews(canon: string, flat: string): string[] {
  if (!/[\t\r\n]/.test(canon)) return [flat];
  return [flat, canon.replace(/[\t\r\n]+/g, '').replace(/\s+/g, ' ')];
}
