import type { SingleFileFixture } from '../../tools/verify/fixture/single-file.js';
import { fixturesOfKind } from './fixture-kind.js';

/**
 * Every `single_file` fixture under the shared fixtures and their `community/` folder, found by
 * `kind` (never by directory name). Fixtures of kinds this checkout does not load yet are passed
 * over by reading their `kind` first, so another kind's work in progress cannot hide these.
 */
export async function singleFileFixtures(): Promise<SingleFileFixture[]> {
  return (await fixturesOfKind('single_file')).map((f) => f.fx);
}

/** Whether two float arrays hold the same values, bit for bit (fast on the 1.6M-value token embedding, where `toEqual` is slow). */
export function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
