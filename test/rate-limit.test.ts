import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { RateLimiter } from '../server/rate-limit';
import { hashPromptKey, hashUserId, normalizeClientAddress, userKeyFromRequest } from '../server/privacy';

/** A settable clock in milliseconds. */
function clock(start = 0) {
  let now = start;
  return { now: () => now, set: (ms: number) => (now = ms) };
}

t.test('allows up to the limit, then blocks for blockMinutes', async (t) => {
  const c = clock(0);
  const rl = new RateLimiter({ limitPerMinute: 5, blockMinutes: 2, now: c.now });
  for (let i = 0; i < 5; i++) {
    const d = rl.hit('alice');
    t.same(d, { allowed: true, limit: 5, remaining: 4 - i, resetSeconds: 60 }, `request ${i + 1}`);
  }
  c.set(10_000);
  t.same(rl.hit('alice'), { allowed: false, limit: 5, remaining: 0, resetSeconds: 120, retryAfterSeconds: 120 }, 'limit exceeded: blocked');
  c.set(40_000);
  t.same(rl.hit('alice'), { allowed: false, limit: 5, remaining: 0, resetSeconds: 90, retryAfterSeconds: 90 }, 'still blocked, remaining block');
  c.set(129_000);
  t.equal(rl.hit('alice').retryAfterSeconds, 1, 'one second before the end');
  c.set(130_000);
  const after = rl.hit('alice');
  t.equal(after.allowed, true, 'block over');
  t.equal(after.remaining, 4, 'counters restart after a block');
  t.equal(after.resetSeconds, 50, 'seconds left in the current minute window');
  t.equal(rl.hit('bob').allowed, true, 'other users are independent');
});

t.test('without a block, refusals last until the window slides', async (t) => {
  const c = clock(0);
  const rl = new RateLimiter({ limitPerMinute: 10, blockMinutes: 0, now: c.now });
  for (let i = 0; i < 10; i++) t.equal(rl.hit('u').allowed, true);
  const refused = rl.hit('u');
  t.equal(refused.allowed, false);
  // prev = 10 must decay to 9: 10 × (1 − f) ≤ 9 → f ≥ 0.1 of the next window → 60 s + 6 s.
  t.equal(refused.retryAfterSeconds, 66);
  c.set(65_000);
  t.equal(rl.hit('u').allowed, false, 'not yet');
  c.set(66_000);
  t.equal(rl.hit('u').allowed, true, 'allowed when Retry-After says so');
});

t.test('the window slides: the previous minute counts in proportion', async (t) => {
  const c = clock(50_000);
  const rl = new RateLimiter({ limitPerMinute: 10, blockMinutes: 0, now: c.now });
  for (let i = 0; i < 10; i++) t.equal(rl.hit('u').allowed, true);
  // 20 s later (10 s into the next minute) a fixed window would allow 10 more; the sliding
  // estimate is 10 × 50/60 ≈ 8.3, so exactly one more fits.
  c.set(70_000);
  const one = rl.hit('u');
  t.same([one.allowed, one.remaining, one.resetSeconds], [true, 0, 50]);
  const two = rl.hit('u');
  t.equal(two.allowed, false);
  // 10 × (1 − f) + 1 + 1 ≤ 10 needs f ≥ 0.2, i.e. t = 72 s: 2 s from now.
  t.equal(two.retryAfterSeconds, 2);
  c.set(72_000);
  t.equal(rl.hit('u').allowed, true, 'allowed when Retry-After says so');
  c.set(110_000);
  const later = rl.hit('u');
  // 10 × 10/60 ≈ 1.67 + 2 (this window) + 1 (this request) ≈ 4.67 → floor(10 − 4.67) = 5
  t.same([later.allowed, later.remaining], [true, 5]);
  c.set(240_000);
  t.equal(rl.hit('u').remaining, 9, 'two idle windows later the count is gone');
});

t.test('LRU eviction keeps the table at maxUsers, evicting the least recently seen', async (t) => {
  const c = clock(0);
  const rl = new RateLimiter({ limitPerMinute: 1, blockMinutes: 5, maxUsers: 3, now: c.now });
  t.equal(rl.hit('a').allowed, true);
  t.equal(rl.hit('b').allowed, true);
  t.equal(rl.hit('b').allowed, false, 'b blocked');
  t.equal(rl.hit('c').allowed, true);
  t.equal(rl.hit('a').allowed, false, 'a blocked (and touched)');
  t.equal(rl.hit('d').allowed, true, 'd evicts b, the least recently seen');
  t.equal(rl.size(), 3);
  t.equal(rl.hit('b').allowed, true, 'b was forgotten with its block');
  t.equal(rl.hit('a').allowed, false, 'a is still tracked and blocked');
  t.equal(rl.size(), 3);
  rl.clear();
  t.equal(rl.size(), 0);
});

t.test('options are validated', async (t) => {
  t.throws(() => new RateLimiter({ limitPerMinute: 0, blockMinutes: 5 }), RangeError);
  t.throws(() => new RateLimiter({ limitPerMinute: 1.5, blockMinutes: 5 }), RangeError);
  t.throws(() => new RateLimiter({ limitPerMinute: 60, blockMinutes: -1 }), RangeError);
  t.throws(() => new RateLimiter({ limitPerMinute: 60, blockMinutes: Infinity }), RangeError);
  t.throws(() => new RateLimiter({ limitPerMinute: 60, blockMinutes: 5, maxUsers: 0 }), RangeError);
  t.throws(() => new RateLimiter({ limitPerMinute: 60, blockMinutes: 5, now: 5 as unknown as () => number }), TypeError);
  const rl = new RateLimiter({ limitPerMinute: 60, blockMinutes: 5 });
  t.equal(rl.hit('real-clock').remaining, 59, 'default clock works');
});

t.test('a clock that steps back does not break the limiter', async (t) => {
  const c = clock(120_000);
  const rl = new RateLimiter({ limitPerMinute: 3, blockMinutes: 0, now: c.now });
  rl.hit('u');
  c.set(30_000);
  const d = rl.hit('u');
  t.equal(d.allowed, true);
  t.ok(d.remaining >= 0 && d.remaining <= 3);
  t.ok(d.resetSeconds >= 1);
});

t.test('1,000,000 distinct users keep size() <= maxUsers and the heap bounded', async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const c = clock(0);
  const rl = new RateLimiter({ limitPerMinute: 60, blockMinutes: 5, now: c.now });
  gc();
  const base = process.memoryUsage().heapUsed;
  let atFull = 0;
  for (let i = 0; i < 1_000_000; i++) {
    c.set(i); // a millisecond apart: windows roll over too
    rl.hit(`user-${i}`);
    if (i === 199_999) {
      gc();
      atFull = process.memoryUsage().heapUsed;
    }
  }
  gc();
  const end = process.memoryUsage().heapUsed;
  t.equal(rl.size(), 100_000, 'default maxUsers');
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  t.ok(end - atFull < 8 * 2 ** 20, `heap after 1M users (${mb(end)} MB) ≈ heap once the table was full (${mb(atFull)} MB)`);
  t.ok(end - base < 64 * 2 ** 20, `table of 100k users costs ${mb(end - base)} MB`);
});

t.test('privacy: hashed user ids and request keys', async (t) => {
  const h = hashUserId('user-42', 'salt-a');
  t.match(h, /^[0-9a-f]{16}$/);
  t.equal(hashUserId('user-42', 'salt-a'), h, 'deterministic');
  t.not(hashUserId('user-42', 'salt-b'), h, 'salted');
  t.not(hashUserId('user-43', 'salt-a'), h);

  const k = hashPromptKey(['spec-1', 'list users', '3']);
  t.match(k, /^[0-9a-f]{32}$/);
  t.equal(hashPromptKey(['spec-1', 'list users', '3']), k);
  t.not(hashPromptKey(['ab', 'c']), hashPromptKey(['a', 'bc']), 'parts are length-prefixed');
  t.not(hashPromptKey(['a', '']), hashPromptKey(['a']));
  t.match(hashPromptKey([]), /^[0-9a-f]{32}$/);

  const salt = 's3cret';
  t.equal(userKeyFromRequest('user-42', '10.0.0.1', salt), 'u:' + hashUserId('user-42', salt));
  t.equal(userKeyFromRequest('  ', '10.0.0.1', salt), 'a:' + hashUserId('10.0.0.1', salt), 'blank header falls back to the address');
  t.equal(userKeyFromRequest(undefined, '10.0.0.1', salt), userKeyFromRequest('', '10.0.0.1', salt));
  t.not(userKeyFromRequest('10.0.0.1', 'x', salt), userKeyFromRequest(undefined, '10.0.0.1', salt), 'ids and addresses never collide');
  t.notMatch(userKeyFromRequest('alice@example.com', '1.2.3.4', salt), /alice|example|1\.2\.3\.4/);

  t.equal(normalizeClientAddress('::ffff:127.0.0.1'), '127.0.0.1');
  t.equal(normalizeClientAddress('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1', 'uWS hex IPv4-mapped form');
  t.equal(normalizeClientAddress('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.equal(normalizeClientAddress('[2001:DB8:1:2:bbbb:cccc:dddd:eeee]'), '2001:db8:1:2::/64');
  t.equal(
    userKeyFromRequest(undefined, '2001:db8:1:2::1', salt),
    userKeyFromRequest(undefined, '2001:db8:1:2:ffff::9', salt),
    'one IPv6 /64 is one client',
  );
  t.not(userKeyFromRequest(undefined, '2001:db8:1:2::1', salt), userKeyFromRequest(undefined, '2001:db8:1:3::1', salt));
  t.equal(normalizeClientAddress('not-an-ip'), 'not-an-ip');
});
