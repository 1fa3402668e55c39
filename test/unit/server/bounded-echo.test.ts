import { describe, expect, it } from 'vitest';
import { boundedEcho } from '../../../src/server/bounded-echo.js';

describe('boundedEcho', () => {
  it('keeps small JSON values as they are', () => {
    const value = { prompt: 'a cat', n: 2, tags: ['x', null, true], nested: { a: 1 } };
    expect(boundedEcho(value)).toEqual(value);
  });

  it('cuts long strings and keys, saying how much was cut', () => {
    const long = 'y'.repeat(250);
    expect(boundedEcho({ [long]: long })).toEqual({ [`${'y'.repeat(100)}... (150 more characters)`]: `${'y'.repeat(100)}... (150 more characters)` });
  });

  it('keeps at most maxItems items and keys, counting the rest', () => {
    expect(boundedEcho([1, 2, 3, 4, 5, 6, 7])).toEqual([1, 2, 3, 4, 5, '... (2 more items)']);
    expect(boundedEcho({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 })).toEqual({ a: 1, b: 2, c: 3, d: 4, e: 5, '...': '1 more keys' });
  });

  it('summarises containers below maxDepth, so 10,000 levels cost no more than three', () => {
    let deep: unknown = [];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(boundedEcho(deep)).toEqual([['array(1)']]);
    expect(JSON.stringify(boundedEcho(deep))).toBe('[["array(1)"]]');
  });

  it('marks cycles instead of following them', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    const list: unknown[] = [];
    list.push(list);
    expect(boundedEcho(a, { maxDepth: 5, maxItems: 5, maxStringLength: 100 })).toEqual({ name: 'a', self: '[Circular]' });
    expect(boundedEcho(list)).toEqual(['[Circular]']);
    const shared = { x: 1 };
    expect(boundedEcho([shared, shared])).toEqual([{ x: 1 }, { x: 1 }]);
  });

  it('describes what JSON cannot hold, and never throws on values that cannot be read', () => {
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(boundedEcho([10n, () => 1, Symbol('s'), Number.NaN, undefined])).toEqual(['10n', 'function (anonymous)', 'Symbol(s)', 'NaN', 'undefined']);
    expect(boundedEcho(hostile)).toEqual({ boom: '[unreadable]' });
    expect(boundedEcho(revoked.proxy)).toBe('[unreadable]');
    expect(boundedEcho(Object.create(null))).toEqual({});
  });

  it('keeps a __proto__ key as a key', () => {
    const echoed = boundedEcho(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(echoed)).toBe(Object.prototype);
    expect(JSON.stringify(echoed)).toBe('{"__proto__":{"polluted":true}}');
  });
});
