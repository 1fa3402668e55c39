/**
 * What to do when Node has WebGPU (Dawn) but no adapter: Dawn needs a Vulkan driver, and on a
 * machine without a GPU that is Mesa's lavapipe. Plain bookworm's Mesa 22 is too old for Dawn,
 * so the driver has to come from bookworm-backports.
 */
export const WEBGPU_INSTALL_HINT = [
  'WebGPU in Node runs on Dawn, which needs a Vulkan driver. On a machine without a GPU, install',
  "Mesa's software driver (lavapipe) from bookworm-backports; Mesa 22 from plain Debian bookworm",
  'does not work with Dawn:',
  "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list",
  '  apt-get update && apt-get install -t bookworm-backports mesa-vulkan-drivers',
  'Or run on a server instead: --executor http --url <vllm-omni or omni-diffusion serve URL>.',
].join('\n');

/** Whether an error says WebGPU has no adapter (Dawn is installed, the Vulkan driver is not), where the hint helps. */
export function isWebGpuUnavailable(err: unknown): boolean {
  // A missing `webgpu` package says how to install it; the driver hint would only mislead there.
  return err instanceof Error && err.name === 'ExecutorUnavailableError' && /WebGPU/.test(err.message) && !/npm install webgpu/.test(err.message);
}
