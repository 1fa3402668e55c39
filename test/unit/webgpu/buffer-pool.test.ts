import { expect, test } from 'vitest';
import { BufferPool, bucketSize } from '../../../src/webgpu/buffer-pool.js';

test.each([1, 255, 256, 257, 1000, 4096, 4097, 123_456_789])('bucket of %i bytes holds it with at most 12.5 %% waste above 256', (bytes) => {
  const b = bucketSize(bytes);
  expect(b).toBeGreaterThanOrEqual(bytes);
  expect(b).toBeLessThanOrEqual(Math.max(256, bytes * 1.125));
  expect(bucketSize(b)).toBe(b);
});

test('without a device the pool still does the accounting: live, peak, reuse and the allocation hook', () => {
  const pool = new BufferPool(null, 1 << 30);
  const seen: number[] = [];
  pool.onAllocate((r) => seen.push(r.size));
  const a = pool.acquire(1000);
  const b = pool.acquire(1000);
  expect(a.buffer).toBeNull();
  expect(pool.stats).toMatchObject({ liveBytes: 2048, peakBytes: 2048, allocations: 2 });
  pool.release(a);
  const c = pool.acquire(990);
  expect(c).toBe(a);
  pool.release(b);
  pool.release(c);
  expect(pool.stats).toMatchObject({ liveBytes: 0, peakBytes: 2048, reservedBytes: 2048, allocations: 2 });
  pool.resetPeak();
  expect(pool.stats.peakBytes).toBe(0);
  expect(seen).toEqual([1024, 1024]);
  pool.markSubmitted();
  pool.trim();
  expect(pool.stats.reservedBytes).toBe(0);
});

test('buffers released since the last submit are withheld from host writes until markSubmitted', () => {
  const pool = new BufferPool(null, 1 << 30);
  const a = pool.acquire(512);
  pool.release(a);
  expect(pool.acquire(512, { hostWrite: true })).not.toBe(a);
  pool.markSubmitted();
  expect(pool.acquire(512, { hostWrite: true })).toBe(a);
});

test('trim destroys the buffers released before the last submit and keeps those recorded commands may still read', () => {
  const pool = new BufferPool(null, 1 << 30);
  const early = pool.acquire(2048);
  const late = pool.acquire(4096);
  pool.release(early);
  pool.markSubmitted();
  pool.release(late);
  pool.trim();
  expect(pool.stats.reservedBytes).toBe(4096);
  expect(pool.acquire(4096)).toBe(late);
  expect(pool.acquire(2048)).not.toBe(early);
  expect(pool.stats.allocations).toBe(3);
});
