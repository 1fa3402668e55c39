import { formatMs, h } from './dom.js';
import type { LoadProgress } from '../src/api/load-progress.js';
import { fitWarning, type DeviceFacts } from './fit-warning.js';
import { formatBytes, type DemoModel } from './models.js';

interface Card {
  model: DemoModel;
  input: HTMLInputElement;
  status: HTMLElement;
  meter: HTMLProgressElement;
  /** Why the model may not fit this device, shown before its download (see `fitWarning`). */
  warning: HTMLElement;
}

/**
 * The model picker: one radio card per model with its download size, and its state (bundled,
 * cached, not downloaded, or a live download meter while it loads, fed by the engine's load events).
 */
export class ModelPicker {
  readonly #cards: Card[] = [];
  /** The card of the load in progress, and the bytes it read from the cache. */
  #loading: { card: Card; cached: number } | null = null;

  constructor(container: HTMLElement, models: DemoModel[], selectedId: string, onChange: (model: DemoModel) => void) {
    for (const model of models) {
      const input = h('input', { type: 'radio', name: 'model', value: model.id });
      input.checked = model.id === selectedId;
      input.addEventListener('change', () => input.checked && onChange(model));
      const download = model.bundled ? 'bundled' : model.downloadBytes > 0 ? `≈ ${formatBytes(model.downloadBytes)}` : '';
      const onGpu = model.needs ? `needs ≈ ${formatBytes(model.needs.peakBytes)} of GPU memory` : model.gpuBytes ? `${formatBytes(model.gpuBytes)} on the GPU` : '';
      const limits = model.needs?.limits;
      const buffer = limits?.maxBufferSize ?? 0;
      const binding = limits?.maxStorageBufferBindingSize ?? 0;
      // WebGPU's default limits: every adapter grants them.
      const needsText = !limits
        ? ''
        : buffer <= 2 ** 28 && binding <= 2 ** 27
          ? "Fits WebGPU's default limits."
          : `Needs buffers of ${formatBytes(buffer)} and bindings of ${formatBytes(binding)}.`;
      const size = onGpu ? `${download}, ${onGpu}` : download;
      const warning = h('span', { class: 'model-warning', role: 'alert' });
      warning.hidden = true;
      const status = h('span', { class: 'model-status' });
      const meter = h('progress', { class: 'model-meter', 'aria-label': `${model.label} download` });
      meter.hidden = true;
      const card = h(
        'label',
        { class: 'model-card' },
        input,
        h(
          'span',
          { class: 'model-body' },
          h('span', { class: 'model-title' }, h('strong', {}, model.label), h('span', { class: 'model-size' }, size)),
          h('span', { class: 'model-desc' }, needsText ? `${model.description} ${needsText}` : model.description),
          status,
          warning,
          meter,
        ),
      );
      container.append(card);
      this.#cards.push({ model, input, status, meter, warning });
    }
    void this.refreshCached();
  }

  get selected(): DemoModel {
    return (this.#cards.find((c) => c.input.checked) ?? this.#cards[0]!).model;
  }

  select(id: string): void {
    const card = this.#cards.find((c) => c.model.id === id);
    if (card) card.input.checked = true;
  }

  /** Shows, on each card, why its model may not fit `device` (hidden where it fits). */
  showFit(device: DeviceFacts): void {
    for (const card of this.#cards) {
      const text = fitWarning(card.model, device);
      card.warning.textContent = text ?? '';
      card.warning.hidden = text === null;
    }
  }

  /** Marks which Hub models already sit in the engine's Cache Storage. */
  async refreshCached(): Promise<void> {
    const cachedText = await cachedUrls();
    for (const card of this.#cards) {
      if (!card.meter.hidden) continue;
      const { model } = card;
      if (model.bundled) card.status.textContent = 'Works offline';
      else if (model.id === 'custom') card.status.textContent = 'From the URL you gave';
      else card.status.textContent = cachedText.includes(`huggingface.co/${model.source}@`) ? 'Cached ✓' : 'Not downloaded';
    }
  }

  /**
   * Shows `model`'s load from the engine's load events (`loadprogress` of the element): the
   * download's bytes, speed and time left on its card, then the upload and compile phases, and
   * the total once `ready`.
   */
  showLoad(model: DemoModel, event: LoadProgress): void {
    const card = this.#cards.find((c) => c.model === model);
    if (!card) return;
    switch (event.status) {
      case 'resolve':
        this.#loading = { card, cached: 0 };
        card.meter.hidden = false;
        card.meter.removeAttribute('value');
        card.status.textContent = event.totalBytes !== null ? `Loading ${formatBytes(event.totalBytes)}…` : 'Loading…';
        return;
      case 'download': {
        const { overallLoaded: loaded, overallTotal: total, bytesPerSecond: rate } = event;
        card.meter.hidden = false;
        if (total !== null && total > 0) {
          card.meter.max = total;
          card.meter.value = loaded;
        }
        const left = total !== null && rate > 0 ? ` · ${formatMs((1000 * (total - loaded)) / rate)} left` : '';
        card.status.textContent = `Downloading ${formatBytes(loaded)}${total !== null ? ` of ${formatBytes(total)}` : ''} · ${formatBytes(rate)}/s${left}`;
        return;
      }
      case 'cached':
        if (this.#loading?.card === card) this.#loading.cached += event.bytes;
        card.status.textContent = `From the cache: ${formatBytes(this.#loading?.cached ?? event.bytes)}`;
        return;
      case 'upload':
        card.status.textContent = `Moving ${formatBytes(event.loaded)} to the GPU…`;
        return;
      case 'compile':
        card.status.textContent = 'Compiling GPU pipelines…';
        return;
      case 'ready':
        this.#loading = null;
        card.meter.hidden = true;
        card.status.textContent = `Loaded in ${formatMs(event.timings.totalMs)}${event.downloadedBytes > 0 ? ` (downloaded ${formatBytes(event.downloadedBytes)})` : ''}`;
        setTimeout(() => void this.refreshCached(), 3000);
        return;
    }
  }

  /** Hides a load's meter when it failed (no `ready` comes). */
  endLoad(): void {
    const loading = this.#loading;
    this.#loading = null;
    if (loading) {
      loading.card.meter.hidden = true;
      void this.refreshCached();
    }
  }
}

async function cachedUrls(): Promise<string> {
  if (!globalThis.caches) return '';
  try {
    const cache = await caches.open('omni-diffusion');
    const keys = await cache.keys();
    return keys.map((r) => decodeURIComponent(r.url)).join('\n');
  } catch {
    return '';
  }
}
