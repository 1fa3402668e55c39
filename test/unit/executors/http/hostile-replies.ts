import type { Transform } from 'node:stream';
import { crc32, constants, createBrotliCompress, createDeflate, createGzip, deflateSync } from 'node:zlib';
import type { Reply } from '../../../helpers/fault-server.js';

/**
 * What a hostile or broken image server sends: endless bodies, compression bombs and PNGs
 * whose header lies. Everything is built in memory, small; the bombs only grow on the client.
 */

/** A chunk of base64-looking text, repeated forever: an endless `b64_json` string. */
export function endlessJsonBody(): () => Generator<string | Buffer> {
  // One Buffer written again and again: the server allocates nothing per chunk, so the memory measured is the client's.
  const filler = Buffer.alloc(64 * 1024, 'A');
  return function* () {
    yield '{"created": 1, "data": [{"b64_json": "';
    for (;;) yield filler;
  };
}

export type BombEncoding = 'gzip' | 'deflate' | 'br';

/**
 * `bytes` zeros compressed as `encoding` would be sent in `Content-Encoding`: 256 MiB come to
 * about 250 KiB (gzip, deflate) or 50 KiB (br). Run-length deflate and brotli quality 1 keep
 * building them to a fraction of a second.
 */
export async function compressedZeros(encoding: BombEncoding, bytes: number): Promise<Buffer> {
  const stream: Transform =
    encoding === 'gzip'
      ? createGzip({ strategy: constants.Z_RLE })
      : encoding === 'deflate'
        ? createDeflate({ strategy: constants.Z_RLE })
        : createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  const zeros = Buffer.alloc(1 << 20);
  for (let left = bytes; left > 0; left -= zeros.length) {
    if (!stream.write(left >= zeros.length ? zeros : zeros.subarray(0, left))) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  await ended;
  return Buffer.concat(out);
}

/** One PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const chunk = Buffer.alloc(body.length + 8);
  chunk.writeUInt32BE(data.length, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), body.length + 4);
  return chunk;
}

/** An IHDR chunk: 8-bit RGBA unless told otherwise, not interlaced. */
export function ihdrChunk(width: number, height: number, depth = 8, colorType = 6): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = depth;
  data[9] = colorType;
  return pngChunk('IHDR', data);
}

/** An IDAT chunk holding `width`×`height` RGBA8 pixels, all zero (filter byte 0 on each row). */
export function zeroIdatChunk(width: number, height: number): Buffer {
  return pngChunk('IDAT', deflateSync(Buffer.alloc(height * (1 + width * 4))));
}

/** A PNG file of `chunks`, with the signature in front and IEND at the end. */
export function pngFile(chunks: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks, pngChunk('IEND', new Uint8Array(0))]);
}

/** An OpenAI-style success reply carrying `png` as its one image. */
export function imageReply(png: Uint8Array | string): Reply {
  const b64 = typeof png === 'string' ? png : Buffer.from(png).toString('base64');
  return { json: { created: 1, data: [{ b64_json: b64, url: null, revised_prompt: null }] } };
}
