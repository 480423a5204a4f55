/**
 * Seeded generator of the things synthetic users talk about: entity names (people,
 * titles, organisations, products, codes) and realistic path-parameter values (numeric
 * ids, uuids, slugs). Everything is generic: no word here belongs to any one API's
 * domain, so a ranker trained on these prompts cannot learn a shortcut for one API.
 */

import { givenNames } from '../engine/person-names';

/** Small, fast, seedable PRNG (mulberry32). Math.random is never used in training. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x5bd1e995) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }
  /** Uniform float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Index drawn in proportion to non-negative weights; -1 when all are zero. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += Math.max(0, w);
    if (total <= 0) return -1;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= Math.max(0, weights[i]!);
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
  /** A child generator, so one consumer's draws don't shift another's. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
}

const GIVEN = [
  'Maria', 'James', 'Aiko', 'Omar', 'Lena', 'Carlos', 'Priya', 'Noah', 'Fatima', 'Lucas', 'Ingrid', 'Kwame',
  'Sofia', 'Dmitri', 'Mei', 'Ethan', 'Amara', 'Jonas', 'Yuki', 'Elena', 'Mateo', 'Zara', 'Oliver', 'Chen',
  'Hannah', 'Rafael', 'Nadia', 'Samuel', 'Leila', 'Tomas', 'Grace', 'Arjun', 'Chloe', 'Diego', 'Freya', 'Hugo',
  'Isabel', 'Kenji', 'Laura', 'Marcus', 'Nina', 'Pablo', 'Rosa', 'Sven', 'Tara', 'Victor', 'Wen', 'Ximena',
];
const FAMILY = [
  'Garcia', 'Smith', 'Tanaka', 'Haddad', 'Novak', 'Okafor', 'Patel', 'Muller', 'Rossi', 'Kowalski', 'Nguyen',
  'Johansson', 'Silva', 'Ivanova', 'Kim', 'Brown', 'Mensah', 'Dubois', 'Fischer', 'Lopez', 'Sato', 'Ahmed',
  'Costa', 'Larsen', 'Moreau', 'Reyes', 'Schmidt', 'Walsh', 'Yilmaz', 'Zhang', 'Bianchi', 'Hoffman', 'Quinn',
];
const ADJ = [
  'Silent', 'Golden', 'Hidden', 'Broken', 'Crimson', 'Distant', 'Electric', 'Frozen', 'Gentle', 'Hollow',
  'Iron', 'Lost', 'Midnight', 'Northern', 'Quiet', 'Rising', 'Scarlet', 'Second', 'Wild', 'Bright', 'Last',
  'Endless', 'Paper', 'Velvet', 'Burning', 'Silver', 'Little', 'Final', 'Open', 'Secret',
];
const NOUN = [
  'River', 'Garden', 'Harbor', 'Signal', 'Empire', 'Horizon', 'Lantern', 'Mirror', 'Orchard', 'Passage',
  'Protocol', 'Shadow', 'Summit', 'Tide', 'Voyage', 'Window', 'Echo', 'Frontier', 'Kingdom', 'Letter',
  'Machine', 'Ocean', 'Promise', 'Road', 'Season', 'Storm', 'Theory', 'Valley', 'Winter', 'City',
];
const ORG_HEAD = ['Acme', 'Nova', 'Blue', 'Apex', 'Northwind', 'Lumen', 'Vertex', 'Bright', 'Cobalt', 'Orbit', 'Pioneer', 'Summit', 'Harbor', 'Evergreen', 'Quantum', 'Redwood'];
const ORG_TAIL = ['Labs', 'Systems', 'Works', 'Group', 'Partners', 'Studios', 'Holdings', 'Digital', 'Co', 'Industries', 'Collective', 'Foundation'];
const PRODUCT_HEAD = ['Aero', 'Zen', 'Flux', 'Pulse', 'Nimbus', 'Echo', 'Terra', 'Vivid', 'Astra', 'Core', 'Loop', 'Swift'];
const PRODUCT_TAIL = ['Pro', 'Max', 'Lite', 'Mini', 'Plus', 'X', 'Air', 'One', 'Go', 'Studio'];

export type EntityKind = 'person' | 'title' | 'org' | 'product' | 'code' | 'number';

/** Something a prompt names: "Maria Garcia", "The Silent River", "Nova Labs", "#4821". */
export interface Entity {
  kind: EntityKind;
  /** As a user would write it in a prompt (titles quoted some of the time). */
  text: string;
  /** The bare value, as a search query parameter would carry it. */
  value: string;
}

/**
 * Half the given names come from the lexicon the server detects people with, half from a
 * short list of names from many languages that it mostly does not know: real prompts name
 * people the lexicon has never heard of, and the ranker must not rely on detection alone.
 */
export function personName(rng: Rng): string {
  const given = rng.chance(0.5) ? rng.pick(lexiconNames()) : rng.pick(GIVEN);
  return `${given} ${rng.pick(FAMILY)}`;
}

let lexiconList: string[] | undefined;
function lexiconNames(): string[] {
  return (lexiconList ??= [...givenNames()].sort());
}

export function titleName(rng: Rng): string {
  const { adj, noun } = nameHeads();
  const r = rng.next();
  if (r < 0.4) return `The ${rng.pick(adj)} ${rng.pick(noun)}`;
  if (r < 0.7) return `${rng.pick(adj)} ${rng.pick(noun)}`;
  if (r < 0.85) return `${rng.pick(noun)} of the ${rng.pick(adj)} ${rng.pick(noun)}`;
  return `${rng.pick(noun)} ${rng.int(2, 4)}`;
}

// Organisation and product names must not read as people's names ("Astra Pro" would:
// Astra is a given name), or prompts about products would teach that people are named.
let heads: { org: string[]; product: string[]; adj: string[]; noun: string[] } | undefined;
function nameHeads(): { org: string[]; product: string[]; adj: string[]; noun: string[] } {
  const given = givenNames();
  const keep = (list: string[]): string[] => list.filter((h) => !given.has(h));
  return (heads ??= { org: keep(ORG_HEAD), product: keep(PRODUCT_HEAD), adj: keep(ADJ), noun: keep(NOUN) });
}

export function orgName(rng: Rng): string {
  const { org } = nameHeads();
  return rng.chance(0.7) ? `${rng.pick(org)} ${rng.pick(ORG_TAIL)}` : `${rng.pick(org)}${rng.pick(NOUN).toLowerCase()}`;
}

export function productName(rng: Rng): string {
  const { product } = nameHeads();
  return rng.chance(0.6) ? `${rng.pick(product)} ${rng.pick(PRODUCT_TAIL)}` : `${rng.pick(product)} ${rng.int(2, 12)}${rng.chance(0.3) ? ' ' + rng.pick(PRODUCT_TAIL) : ''}`;
}

/** An entity of the requested kind (or a random one). */
export function entity(rng: Rng, kind?: EntityKind): Entity {
  const k = kind ?? rng.pick<EntityKind>(['person', 'title', 'title', 'org', 'product', 'code']);
  switch (k) {
    case 'person': {
      const v = personName(rng);
      return { kind: k, text: v, value: v };
    }
    case 'title': {
      const v = titleName(rng);
      const q = rng.next();
      return { kind: k, text: q < 0.45 ? `"${v}"` : q < 0.55 ? `'${v}'` : v, value: v };
    }
    case 'org': {
      const v = orgName(rng);
      return { kind: k, text: v, value: v };
    }
    case 'product': {
      const v = productName(rng);
      return { kind: k, text: v, value: v };
    }
    case 'code': {
      const v = shortCode(rng);
      return { kind: k, text: v, value: v };
    }
    case 'number': {
      const v = String(rng.int(2, 9999));
      return { kind: k, text: rng.chance(0.5) ? `#${v}` : v, value: v };
    }
  }
}

export function numericId(rng: Rng): string {
  const r = rng.next();
  return String(r < 0.3 ? rng.int(1, 999) : r < 0.8 ? rng.int(1000, 99999) : rng.int(100000, 99999999));
}

export function uuid(rng: Rng): string {
  const hex = (n: number): string => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${rng.pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

export function hexToken(rng: Rng, len = 24): string {
  return Array.from({ length: len }, () => rng.int(0, 15).toString(16)).join('');
}

/** "AB-1234", "X7K2P9": coupon-, sku- or ticket-like codes. */
export function shortCode(rng: Rng): string {
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  const alnum = letters + '23456789';
  if (rng.chance(0.5)) return `${letters[rng.int(0, 23)]}${letters[rng.int(0, 23)]}-${rng.int(100, 9999)}`;
  return Array.from({ length: rng.int(5, 8) }, () => alnum[rng.int(0, alnum.length - 1)]).join('');
}

/** Prefixed opaque ids some APIs use: "cus_8f3k2Lq". */
export function prefixedId(rng: Rng, prefix: string): string {
  const chars = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const body = Array.from({ length: rng.int(8, 14) }, () => chars[rng.int(0, chars.length - 1)]).join('');
  return `${prefix.slice(0, 4).toLowerCase()}_${body}`;
}

export function slug(text: string): string {
  return text.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'item';
}

export function isoDate(rng: Rng): string {
  const y = rng.int(2019, 2026);
  const m = String(rng.int(1, 12)).padStart(2, '0');
  const d = String(rng.int(1, 28)).padStart(2, '0');
  return `${y}-${m}-${d}`;
}
