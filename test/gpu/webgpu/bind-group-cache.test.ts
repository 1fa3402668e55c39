import { expect, test } from 'vitest';
import { BindGroupCache } from '../../../src/webgpu/bind-group-cache.js';
import { BufferUsage } from '../../../src/webgpu/usage.js';
import { gpuContext } from '../helpers/device.js';

async function setup() {
  const { device } = await gpuContext();
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: 0x4, buffer: { type: 'uniform', hasDynamicOffset: true } },
      { binding: 1, visibility: 0x4, buffer: { type: 'storage' } },
    ],
  });
  const uniform = device.createBuffer({ size: 256, usage: BufferUsage.UNIFORM });
  const storage = () => device.createBuffer({ size: 64, usage: BufferUsage.STORAGE });
  return { device, layout, uniform, storage };
}

test('the same layout over the same buffers and sizes returns the same bind group', async () => {
  const { device, layout, uniform, storage } = await setup();
  const cache = new BindGroupCache();
  const s = storage();
  const a = cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: s, byteSize: 64 }] });
  const b = cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: s, byteSize: 64 }] });
  expect(b).toBe(a);
  expect(cache.stats).toEqual({ hits: 1, misses: 1, size: 1 });
});

test('another storage buffer, binding size or uniform size is another bind group', async () => {
  const { device, layout, uniform, storage } = await setup();
  const cache = new BindGroupCache();
  const s = storage();
  const base = cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: s, byteSize: 64 }] });
  const others = [
    cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: storage(), byteSize: 64 }] }),
    cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: s, byteSize: 32 }] }),
    cache.get(device, layout, { uniform, uniformSize: 32, storage: [{ buffer: s, byteSize: 64 }] }),
  ];
  for (const o of others) expect(o).not.toBe(base);
  expect(new Set(others).size).toBe(3);
  expect(cache.stats.misses).toBe(4);
});

test('at capacity the cache starts over, so stale groups of dropped buffers cannot pile up', async () => {
  const { device, layout, uniform, storage } = await setup();
  const cache = new BindGroupCache(3);
  const first = storage();
  cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: first, byteSize: 64 }] });
  for (let i = 0; i < 2; i++) cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: storage(), byteSize: 64 }] });
  expect(cache.stats.size).toBe(3);
  cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: storage(), byteSize: 64 }] });
  expect(cache.stats.size).toBe(1);
  cache.get(device, layout, { uniform, uniformSize: 16, storage: [{ buffer: first, byteSize: 64 }] });
  expect(cache.stats).toMatchObject({ hits: 0, misses: 5, size: 2 });
});
