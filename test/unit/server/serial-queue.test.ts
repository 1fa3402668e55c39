import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../src/server/errors.js';
import { SerialQueue } from '../../../src/server/serial-queue.js';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SerialQueue', () => {
  it('runs jobs one at a time in the order they came', async () => {
    const queue = new SerialQueue(10);
    const events: string[] = [];
    const job = (name: string, ms: number) => async () => {
      events.push(`start ${name}`);
      await tick(ms);
      events.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([queue.run(job('a', 20)), queue.run(job('b', 1)), queue.run(job('c', 5))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('goes on after a job that fails', async () => {
    const queue = new SerialQueue(10);
    const failing = queue.run(async () => {
      throw new Error('boom');
    });
    const next = queue.run(async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });

  it('lets a waiting job whose signal aborts leave at once, without running it', async () => {
    const queue = new SerialQueue(10);
    let release!: () => void;
    const first = queue.run(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    const controller = new AbortController();
    let ran = false;
    const waiting = queue.run(async () => {
      ran = true;
    }, controller.signal);
    const third = queue.run(async () => 'third');
    expect(queue.waiting).toBe(2);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(queue.waiting).toBe(1);
    release();
    expect(await first).toBe('first');
    expect(await third).toBe('third');
    expect(ran).toBe(false);
  });

  it('refuses a job with a 503 when maxWaiting jobs already wait', async () => {
    const queue = new SerialQueue(1);
    let release!: () => void;
    const running = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
    const waiting = queue.run(async () => 'waited');
    const refused = await queue.run(async () => 'never').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 503, headers: { 'retry-after': '5' } });
    release();
    await running;
    expect(await waiting).toBe('waited');
  });
});
