import { readFileSync, writeFileSync } from 'node:fs';

/** A peak resident set size, and over what span it was taken. */
export interface PeakRss {
  bytes: number;
  /** True: since the last `resetPeakRss()`; false: since the process started. */
  sinceReset: boolean;
}

let resetWorks = false;

/**
 * Resets the kernel's peak-RSS mark to the current RSS (Linux: `5` into `/proc/self/clear_refs`),
 * so that the next {@link peakRss} covers only what ran in between. Returns false where the
 * kernel does not allow it; the peak then spans the whole process.
 */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    resetWorks = true;
  } catch {
    resetWorks = false;
  }
  return resetWorks;
}

/**
 * The peak RSS: `VmHWM` of `/proc/self/status` on Linux (since the last reset), else
 * `process.resourceUsage().maxRSS` (since the process started). On a software Vulkan driver
 * (lavapipe) the GPU's buffers are host memory, so this includes the weights on the "device".
 */
export function peakRss(): PeakRss {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return { bytes: Number(match[1]) * 1024, sinceReset: resetWorks };
  } catch {
    // Not Linux: fall through to the process-wide figure.
  }
  return { bytes: process.resourceUsage().maxRSS * 1024, sinceReset: false };
}

/** `1234 MiB (since reset)`, for logs. */
export function formatPeakRss(peak: PeakRss): string {
  return `${(peak.bytes / 2 ** 20).toFixed(0)} MiB${peak.sinceReset ? '' : ' (process peak)'}`;
}
