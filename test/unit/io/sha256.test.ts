import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jsSha256 } from '../../../src/io/hash.js';

const nodeHex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('jsSha256 (the incremental SHA-256 browsers use)', () => {
  it('matches node:crypto around every block boundary', async () => {
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
      const bytes = randomBytes(n);
      const h = await jsSha256();
      h.update(bytes);
      expect(h.digestHex(), `length ${n}`).toBe(nodeHex(bytes));
    }
    const abc = await jsSha256();
    abc.update(new TextEncoder().encode('abc'));
    expect(abc.digestHex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('gives the same digest for any chunking', async () => {
    const bytes = randomBytes(300_000);
    const want = nodeHex(bytes);
    for (const size of [1, 7, 63, 64, 65, 4096, 99_999]) {
      const h = await jsSha256();
      for (let at = 0; at < bytes.byteLength; at += size) h.update(bytes.subarray(at, at + size));
      expect(h.digestHex(), `chunks of ${size}`).toBe(want);
    }
  });

  it('hashes 64 MiB (printed: the rate a browser download is checked at)', async () => {
    const bytes = new Uint8Array(64 << 20).fill(7);
    const h = await jsSha256();
    const t0 = performance.now();
    h.update(bytes);
    const got = h.digestHex();
    const ms = performance.now() - t0;
    console.log(`jsSha256 (@noble/hashes): 64 MiB in ${ms.toFixed(0)} ms (${((64 / ms) * 1000).toFixed(0)} MiB/s)`);
    expect(got).toBe(nodeHex(bytes));
  });
});
