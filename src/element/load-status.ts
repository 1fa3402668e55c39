import { formatBytes } from '../api/format-bytes.js';
import type { LoadProgress } from '../api/load-progress.js';

/** What the element shows for a load event. */
export interface LoadStatus {
  /** The announced phase (`Downloading model…`); it changes only with the phase, so a screen reader is not flooded. */
  status: string;
  /** The visible detail beside it: bytes, speed and ETA while downloading. */
  detail: string;
  /** The progress bar: `value` of `max`, or null for an indeterminate bar. */
  value: number | null;
  max: number | null;
}

/**
 * The element's view of a load event: a download bar with bytes, speed and time left, then the
 * upload and compile phases. `cached` files count in the download's overall bytes, so a load
 * from the cache moves the same bar.
 */
export function loadStatusOf(event: LoadProgress): LoadStatus | null {
  switch (event.status) {
    case 'resolve':
      return { status: 'Loading model…', detail: event.totalBytes !== null ? formatBytes(event.totalBytes) : '', value: null, max: null };
    case 'download': {
      const { overallLoaded: loaded, overallTotal: total, bytesPerSecond: rate } = event;
      const left = total !== null && rate > 0 ? ` · ${formatEta((total - loaded) / rate)} left` : '';
      const bytes = total !== null ? `${formatBytes(loaded)} / ${formatBytes(total)}` : formatBytes(loaded);
      return { status: 'Downloading model…', detail: `${bytes} · ${formatBytes(rate)}/s${left}`, value: total !== null ? loaded : null, max: total };
    }
    case 'cached':
      return { status: 'Loading model from the cache…', detail: event.file, value: null, max: null };
    case 'upload':
      return { status: 'Moving weights to the GPU…', detail: formatBytes(event.loaded), value: event.total !== null ? event.loaded : null, max: event.total };
    case 'compile':
      return {
        status: 'Compiling GPU pipelines…',
        detail: event.total !== null ? `${event.done}/${event.total}` : String(event.done),
        value: event.total !== null ? event.done : null,
        max: event.total,
      };
    case 'ready':
      return null;
  }
}

/** `45 s`, `3 min`, `1 h 5 min`: coarse, as a download's time left is. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
