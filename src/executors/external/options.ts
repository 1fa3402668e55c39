import { WEBGPU_OPTION_KEYS } from '../webgpu/options.js';

/**
 * The config fields the `external` executor reads: where the host is (`sharedWorkerUrl` and
 * `sharedWorkerName`, or `port`), and the webgpu executor's model fields but `worker` (the host
 * is not this side's to place).
 */
export const EXTERNAL_OPTION_KEYS: readonly string[] = ['sharedWorkerUrl', 'sharedWorkerName', 'port', ...WEBGPU_OPTION_KEYS.filter((k) => k !== 'worker')];
