/**
 * Abuse suite (issue 17): an HTTP model source whose server sends bodies of unknown length
 * that never stop. The server is on loopback and stops after 256 MiB, so the old code (which
 * buffered everything) finishes rather than filling the machine; the caps must stop far sooner.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { FileTooLargeError } from '../../../../src/io/errors.js';
import { MAX_CONFIG_FILE_BYTES, MAX_TEXT_FILE_BYTES } from '../../../../src/io/sources/model-source.js';
import { UrlSource } from '../../../../src/io/sources/url-source.js';
import { formatPeakRss, peakRss, resetPeakRss } from '../../../helpers/peak-rss.js';
import { rejection } from '../deadline.js';
import { startStreamingServer, type StreamingServer } from '../streaming-server.js';

const SERVED_BYTES = 256 << 20;
/** What the process may grow by beyond the capped buffer: fetch's and the sockets' buffers, the server's 1 MiB block. */
const RSS_SLACK = 64 << 20;

let server: StreamingServer | null = null;

// fetch sets itself up on first use (tens of MiB); that is not what the cases measure.
beforeAll(async () => {
  const warm = await startStreamingServer(new Uint8Array(0), 1 << 20);
  await (await fetch(warm.url)).arrayBuffer();
  await warm.close();
});

afterEach(async () => {
  await server?.close();
  server = null;
});

async function endlessBody(): Promise<StreamingServer> {
  server = await startStreamingServer(new Uint8Array(0), SERVED_BYTES);
  return server;
}

describe('URL source abuse', () => {
  it('stops an endless model_index.json at MAX_CONFIG_FILE_BYTES, with RSS bounded (the old code buffered all of it)', async () => {
    const { url } = await endlessBody();
    const rssBefore = process.memoryUsage().rss;
    resetPeakRss();
    const err = await rejection(DiffusersRepo.open(new UrlSource(url)));
    const peak = peakRss();
    const growth = peak.bytes - rssBefore;
    console.log(`endless config: stopped after ${server!.bytesSent} bytes sent; peak RSS ${formatPeakRss(peak)}, growth ${(growth / 2 ** 20).toFixed(0)} MiB`);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ size: null, limit: MAX_CONFIG_FILE_BYTES, file: `${url}/model_index.json` });
    expect(err.message).toContain(`runs past the cap of ${MAX_CONFIG_FILE_BYTES} bytes`);
    expect(growth).toBeLessThan(MAX_CONFIG_FILE_BYTES + RSS_SLACK);
  });

  it('stops any endless text file at MAX_TEXT_FILE_BYTES, with RSS bounded (the old code buffered all of it)', async () => {
    const { url } = await endlessBody();
    const rssBefore = process.memoryUsage().rss;
    resetPeakRss();
    const err = await rejection(new UrlSource(url).readText('tokenizer/vocab.json'));
    const peak = peakRss();
    const growth = peak.bytes - rssBefore;
    console.log(`endless vocab.json: stopped after ${server!.bytesSent} bytes sent; peak RSS ${formatPeakRss(peak)}, growth ${(growth / 2 ** 20).toFixed(0)} MiB`);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ size: null, limit: MAX_TEXT_FILE_BYTES });
    expect(growth).toBeLessThan(MAX_TEXT_FILE_BYTES + RSS_SLACK);
  });
});
