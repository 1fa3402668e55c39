import { DiffusionEngine } from '../../api/engine.js';
import { WebGPUDiffusionExecutor } from '../../executors/webgpu/executor.js';
import { API_KEY_PATTERN } from '../../server/api-key.js';
import { createImageServer } from '../../server/image-server.js';
import { IMAGE_SERVER_DEFAULTS, type ImageServerOptions } from '../../server/server-options.js';
import { CliUsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import { ENGINE_OPTIONS, engineChoiceFrom, engineConfigOf, modelLabel, type EngineChoice } from '../engine-options.js';
import { LoadBar } from '../load-bar.js';
import { integerOption, stringOption } from '../option-values.js';

/** Where `serve` also reads its API key, so that the key need not show in `ps`. */
export const API_KEY_ENV = 'OMNI_DIFFUSION_API_KEY';

/** A `serve` command line, checked. */
export interface ServeOptions {
  engine: EngineChoice;
  port: number;
  host: string;
  /**
   * The webgpu engine runs in a `worker_threads` thread (default), so `/health`, aborts and
   * signals are answered while it generates; `--in-process` runs it on the server's thread.
   */
  engineThread: boolean;
  /** The image server's limits, timeouts and access checks (everything but `log`). */
  server: Required<Omit<ImageServerOptions, 'log' | 'apiKey' | 'maxJsonDepth' | 'maxImageSize'>> & Pick<ImageServerOptions, 'apiKey'>;
}

/**
 * Reads and checks a `serve` command line; mistakes are `CliUsageError`s naming the option.
 * The API key comes from `--api-key`, else from `env[OMNI_DIFFUSION_API_KEY]`.
 */
export function serveOptionsFrom(args: ParsedArgs, env: Readonly<Record<string, string | undefined>> = process.env): ServeOptions {
  if (args.positionals.length > 0) throw new CliUsageError(`takes no positional arguments, got "${args.positionals[0]}" (the model goes in --model)`);
  const d = IMAGE_SERVER_DEFAULTS;
  const server: ServeOptions['server'] = {
    maxBodyBytes: integerOption(args, 'max-body-bytes', { min: 1024 }) ?? d.maxBodyBytes,
    maxQueuedRequests: integerOption(args, 'max-queue', { min: 0 }) ?? d.maxQueuedRequests,
    maxPromptLength: integerOption(args, 'max-prompt-length', { min: 1 }) ?? d.maxPromptLength,
    maxConnections: integerOption(args, 'max-connections', { min: 1 }) ?? d.maxConnections,
    headersTimeoutMs: integerOption(args, 'headers-timeout-ms', { min: 100 }) ?? d.headersTimeoutMs,
    requestTimeoutMs: integerOption(args, 'request-timeout-ms', { min: 100 }) ?? d.requestTimeoutMs,
    keepAliveTimeoutMs: integerOption(args, 'keep-alive-timeout-ms', { min: 100 }) ?? d.keepAliveTimeoutMs,
    allowedHosts: allowedHostsOption(args),
  };
  if (server.requestTimeoutMs < server.headersTimeoutMs) {
    throw new CliUsageError(`option --request-timeout-ms (${server.requestTimeoutMs}) must be at least --headers-timeout-ms (${server.headersTimeoutMs}): the whole request cannot take less time than its headers`);
  }
  const apiKey = apiKeyOption(args, env);
  return {
    engine: engineChoiceFrom(args),
    port: integerOption(args, 'port', { min: 0, max: 65535 }) ?? 8000,
    host: stringOption(args, 'host') ?? '127.0.0.1',
    engineThread: args.options['in-process'] !== true,
    server: apiKey === undefined ? server : { ...server, apiKey },
  };
}

/** `--api-key`, else the environment's key; either must be visible ASCII. */
function apiKeyOption(args: ParsedArgs, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const flag = stringOption(args, 'api-key');
  const [key, source] = flag !== undefined ? [flag, 'option --api-key'] : [env[API_KEY_ENV], `environment variable ${API_KEY_ENV}`];
  if (key === undefined) return undefined;
  if (!API_KEY_PATTERN.test(key)) {
    throw new CliUsageError(`${source} must be visible ASCII characters without spaces${key === '' ? ', and is empty (unset it to serve without a key)' : ''}`);
  }
  return key;
}

/** `--allowed-hosts a.example,b.example`: names or addresses, without scheme, port or path; `*` allows any. */
function allowedHostsOption(args: ParsedArgs): string[] {
  const value = stringOption(args, 'allowed-hosts');
  if (value === undefined) return [];
  const hosts = value.split(',').map((h) => h.trim()).filter((h) => h !== '');
  for (const host of hosts) {
    if (/[\s/]/.test(host) || host.split(':').length === 2) {
      throw new CliUsageError(`option --allowed-hosts takes host names or addresses without scheme, port or path, e.g. images.example.com,10.0.0.5; got "${host}"`);
    }
  }
  if (hosts.length === 0) throw new CliUsageError('option --allowed-hosts expects a comma-separated list of host names');
  return hosts;
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
    { name: 'max-prompt-length', type: 'number', description: 'longest prompt and negative_prompt, in characters; longer get 422 (default 4096)' },
    { name: 'max-connections', type: 'number', description: 'connections open at once; more are closed on arrival (default 128)' },
    { name: 'headers-timeout-ms', type: 'number', description: 'time a client has to send its headers, else 408 and closed (default 10000)' },
    { name: 'request-timeout-ms', type: 'number', description: 'time a client has to send headers and body, else 408 and closed (default 30000)' },
    { name: 'keep-alive-timeout-ms', type: 'number', description: 'how long an idle kept-alive connection stays open (default 5000)' },
    { name: 'api-key', type: 'string', description: `key clients must send as "Authorization: Bearer <key>" (default: $${API_KEY_ENV}, else none); /health stays open` },
    { name: 'in-process', type: 'boolean', description: "run the webgpu engine on the server's thread instead of a worker thread (the server then stalls while it records)" },
    { name: 'allowed-hosts', type: 'string', description: 'comma-separated host names the Host header may name besides localhost, 127.0.0.1, [::1] and --host; * for any' },
    ...ENGINE_OPTIONS,
  ],
  async run(args, io) {
    const options = serveOptionsFrom(args);
    const engineConfig = await engineConfigOf(options.engine);
    // In a thread, a generation never holds up the server's event loop (see ServeOptions.engineThread).
    const config = engineConfig.executorClass === 'webgpu' ? { ...engineConfig, worker: options.engineThread } : engineConfig;
    const stop = stopSignal(io.signal);
    const loadBar = new LoadBar(io.err, io.errIsTTY === true);
    const loading = DiffusionEngine.create(config, { onLoadProgress: (e) => loadBar.update(e) });
    loading.finally(() => loadBar.finish()).catch(() => undefined);
    const server = createImageServer(loading, { ...options.server, log: (line) => io.err(`${line}\n`) });
    try {
      const url = await server.listen(options.port, options.host);
      io.out(`Listening on ${url} (POST ${url}/v1/images/generations, GET ${url}/health); loading ${modelLabel(options.engine)} on ${options.engine.executor}...\n`);
      for (const line of exposureWarnings(options)) io.err(`Warning: ${line}\n`);
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


const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * What a server reachable from other machines should be told: without a key anyone who reaches
 * the port can generate, and other machines reach it by names the Host check does not allow yet.
 */
export function exposureWarnings(options: Pick<ServeOptions, 'host' | 'server'>): string[] {
  if (LOOPBACK.has(options.host)) return [];
  const warnings: string[] = [];
  if (options.server.apiKey === undefined) warnings.push(`listening on ${options.host} without an API key: anyone who can reach this port can generate. Set --api-key or ${API_KEY_ENV}.`);
  if (options.server.allowedHosts.length === 0) {
    warnings.push(`requests are served only when their Host header is localhost, 127.0.0.1, [::1] or ${options.host}; add the names clients use with --allowed-hosts (e.g. --allowed-hosts images.example.com,10.0.0.5).`);
  }
  return warnings;
}

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
