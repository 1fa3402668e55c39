import { DiffusionEngine } from '../../engine/engine.js';
import { WebGPUDiffusionExecutor } from '../../executors/webgpu/executor.js';
import { createImageServer } from '../../server/image-server.js';
import { CliUsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import { ENGINE_OPTIONS, engineChoiceFrom, engineConfigOf, modelLabel, type EngineChoice } from '../engine-options.js';
import { integerOption, stringOption } from '../option-values.js';
import { defineCommand } from '../registry.js';

/** A `serve` command line, checked. */
export interface ServeOptions {
  engine: EngineChoice;
  port: number;
  host: string;
  maxBodyBytes: number;
  maxQueuedRequests: number;
}

/** Reads and checks a `serve` command line; mistakes are `CliUsageError`s naming the option. */
export function serveOptionsFrom(args: ParsedArgs): ServeOptions {
  if (args.positionals.length > 0) throw new CliUsageError(`takes no positional arguments, got "${args.positionals[0]}" (the model goes in --model)`);
  return {
    engine: engineChoiceFrom(args),
    port: integerOption(args, 'port', { min: 0, max: 65535 }) ?? 8000,
    host: stringOption(args, 'host') ?? '127.0.0.1',
    maxBodyBytes: integerOption(args, 'max-body-bytes', { min: 1024 }) ?? 1024 * 1024,
    maxQueuedRequests: integerOption(args, 'max-queue', { min: 0 }) ?? 32,
  };
}

/**
 * `omni-diffusion serve --port 8000`: vllm-omni's image API (`POST /v1/images/generations`,
 * `GET /health`) over a `DiffusionEngine`. It listens at once and answers 503 until the model
 * has loaded; SIGINT or SIGTERM stop it (requests in flight are cancelled, then the engine is
 * closed).
 */
export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'Serve the vllm-omni image API (POST /v1/images/generations, GET /health) over HTTP.',
  usage: 'serve [--port 8000] [--host 127.0.0.1] [--model <hub id|url|dir>] [--executor webgpu|http|onnx] [options]',
  options: [
    { name: 'port', type: 'number', description: 'port to listen on (default 8000; 0 picks a free one)' },
    { name: 'host', type: 'string', description: 'address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)' },
    { name: 'max-body-bytes', type: 'number', description: 'largest request body; larger ones get 413 (default 1048576)' },
    { name: 'max-queue', type: 'number', description: 'requests that may wait behind the running one; more get 503 (default 32)' },
    ...ENGINE_OPTIONS,
  ],
  async run(args, io) {
    const options = serveOptionsFrom(args);
    const config = await engineConfigOf(options.engine);
    const stop = stopSignal(io.signal);
    const loading = DiffusionEngine.create(config);
    const server = createImageServer(loading, {
      maxBodyBytes: options.maxBodyBytes,
      maxQueuedRequests: options.maxQueuedRequests,
      log: (line) => io.err(`${line}\n`),
    });
    try {
      const url = await server.listen(options.port, options.host);
      io.out(`Listening on ${url} (POST ${url}/v1/images/generations, GET ${url}/health); loading ${modelLabel(options.engine)} on ${options.engine.executor}...\n`);
      const engine = await Promise.race([loading, stop.stopped.then(() => null)]);
      if (engine !== null) {
        const adapter = engine.executor instanceof WebGPUDiffusionExecutor ? engine.executor.info?.adapter : undefined;
        io.out(`Ready: ${url} (executor ${engine.executorName}${adapter ? `, adapter ${adapter}` : ''})\n`);
        await stop.stopped;
      }
      io.err('Shutting down...\n');
      return 0;
    } finally {
      stop.dispose();
      await server.close();
      // The engine may still be loading; close it once it is there (a failed load has nothing to close).
      await loading.then(
        (engine) => engine.close(),
        () => undefined,
      );
    }
  },
};

defineCommand(serveCommand);

/** Resolves on SIGINT, SIGTERM or `signal`; `dispose` removes the process handlers again. */
function stopSignal(signal: AbortSignal | undefined): { stopped: Promise<void>; dispose(): void } {
  let dispose = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    const onStop = (): void => resolve();
    process.once('SIGINT', onStop);
    process.once('SIGTERM', onStop);
    signal?.addEventListener('abort', onStop, { once: true });
    if (signal?.aborted) resolve();
    dispose = () => {
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      signal?.removeEventListener('abort', onStop);
    };
  });
  return { stopped, dispose };
}
