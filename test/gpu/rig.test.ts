import { expect, test } from 'vitest';
import { gpuContext } from './helpers/device.js';

test('the Dawn device runs a compute shader and maps its result back', async () => {
  const { device } = await gpuContext();
  const module = device.createShaderModule({
    code: '@group(0) @binding(0) var<storage, read_write> v: array<f32>; @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3u) { if (i.x < arrayLength(&v)) { v[i.x] = v[i.x] * 2.0 + 1.0; } }',
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const n = 100;
  const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, Float32Array.from({ length: n }, (_, i) => i));
  const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  expect(Array.from(out)).toEqual(Array.from({ length: n }, (_, i) => i * 2 + 1));
});
