/**
 * BERT's WordPiece tokenizer (the "BertTokenizer" of the original release), enough to feed
 * a user-supplied encoder such as all-MiniLM-L6-v2 from its vocab.txt:
 *
 *   basic:     clean control chars -> space out CJK ideographs -> (lower-case, strip
 *              accents) -> split on whitespace -> split off every punctuation char
 *   wordpiece: greedy longest-match-first; continuation pieces carry "##";
 *              a word with no full split, or longer than maxInputCharsPerWord, is [UNK]
 *   encode:    [CLS] pieces... [SEP], truncated to maxLength
 */

/** Options of the WordPiece tokenizer; defaults match uncased BERT vocabularies. */
export interface WordPieceOptions {
  /** Lower-case and strip accents before splitting (uncased models). Default true. */
  lowerCase?: boolean;
  /** Words longer than this become [UNK] without trying to split them. Default 100. */
  maxInputCharsPerWord?: number;
  /** Special tokens; defaults are BERT's. */
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
}

export class WordPieceTokenizer {
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  private readonly lowerCase: boolean;
  private readonly maxChars: number;
  private readonly unkToken: string;

  constructor(private readonly vocab: ReadonlyMap<string, number>, opts: WordPieceOptions = {}) {
    this.lowerCase = opts.lowerCase ?? true;
    this.maxChars = opts.maxInputCharsPerWord ?? 100;
    this.unkToken = opts.unkToken ?? '[UNK]';
    const need = (tok: string): number => {
      const id = vocab.get(tok);
      if (id === undefined) throw new Error(`WordPiece vocabulary lacks the special token ${tok}`);
      return id;
    };
    this.unkId = need(this.unkToken);
    this.clsId = need(opts.clsToken ?? '[CLS]');
    this.sepId = need(opts.sepToken ?? '[SEP]');
    this.padId = need(opts.padToken ?? '[PAD]');
  }

  /** Build from the text of a vocab.txt: one token per line, id = line number. */
  static fromVocabText(text: string, opts: WordPieceOptions = {}): WordPieceTokenizer {
    const vocab = new Map<string, number>();
    const lines = text.split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.forEach((line, i) => {
      if (!vocab.has(line)) vocab.set(line, i);
    });
    return new WordPieceTokenizer(vocab, opts);
  }

  get size(): number {
    return this.vocab.size;
  }

  /** Whitespace/punctuation splitting with BERT's cleaning and optional lower-casing. */
  basicTokenize(text: string): string[] {
    let cleaned = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
      if (isWhitespace(ch)) cleaned += ' ';
      else if (isCjk(cp)) cleaned += ` ${ch} `;
      else cleaned += ch;
    }
    const out: string[] = [];
    for (let word of cleaned.split(' ')) {
      if (!word) continue;
      if (this.lowerCase) word = word.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
      let current = '';
      for (const ch of word) {
        if (isPunctuation(ch)) {
          if (current) out.push(current);
          out.push(ch);
          current = '';
        } else current += ch;
      }
      if (current) out.push(current);
    }
    return out;
  }

  /** Greedy longest-match-first pieces of one basic token. */
  wordPiece(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.maxChars) return [this.unkToken];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [this.unkToken];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** All pieces of `text`, without special tokens. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const w of this.basicTokenize(text)) out.push(...this.wordPiece(w));
    return out;
  }

  /** [CLS] ids... [SEP], at most maxLength ids (>= 2). */
  encode(text: string, maxLength: number): number[] {
    const ids = [this.clsId];
    const room = Math.max(0, maxLength - 2);
    for (const w of this.basicTokenize(text)) {
      for (const p of this.wordPiece(w)) {
        if (ids.length - 1 >= room) break;
        ids.push(this.vocab.get(p) ?? this.unkId);
      }
      if (ids.length - 1 >= room) break;
    }
    ids.push(this.sepId);
    return ids;
  }
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /\p{Zs}/u.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return /[\p{Cc}\p{Cf}]/u.test(ch);
}

/** BERT treats all non-alphanumeric ASCII as punctuation, plus Unicode P* categories. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}

function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}
