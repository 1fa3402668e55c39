import { formatMs, h } from './dom.js';
import { formatBytes, type DemoModel } from './models.js';

/** How often the download meter samples storage use. */
const METER_INTERVAL_MS = 500;

interface Card {
  model: DemoModel;
  input: HTMLInputElement;
  status: HTMLElement;
  meter: HTMLProgressElement;
}

/**
 * The model picker: one radio card per model with its download size, and its state (bundled,
 * cached, not downloaded, or a live download meter while it loads).
 */
export class ModelPicker {
  readonly #cards: Card[] = [];
  #metering: ReturnType<typeof setInterval> | null = null;

  constructor(container: HTMLElement, models: DemoModel[], selectedId: string, onChange: (model: DemoModel) => void) {
    for (const model of models) {
      const input = h('input', { type: 'radio', name: 'model', value: model.id });
      input.checked = model.id === selectedId;
      input.addEventListener('change', () => input.checked && onChange(model));
      const size = model.bundled ? 'bundled' : model.downloadBytes > 0 ? `≈ ${formatBytes(model.downloadBytes)}` : '';
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
          h('span', { class: 'model-desc' }, model.description),
          status,
          meter,
        ),
      );
      container.append(card);
      this.#cards.push({ model, input, status, meter });
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
   * Shows a download meter for `model` until `done` settles. The engine downloads in its
   * worker straight into Cache Storage, so the meter follows the origin's storage use: bytes
   * written so far and the rate.
   */
  trackLoad(model: DemoModel, done: Promise<unknown>): void {
    const card = this.#cards.find((c) => c.model === model);
    if (!card || model.bundled || model.downloadBytes === 0 || !navigator.storage?.estimate) return;
    if (this.#metering !== null) clearInterval(this.#metering);
    const started = performance.now();
    let baseline: number | null = null;
    card.meter.hidden = false;
    card.meter.max = model.downloadBytes;
    card.meter.value = 0;
    const tick = async () => {
      const { usage = 0 } = await navigator.storage.estimate();
      baseline ??= usage;
      const bytes = Math.max(0, usage - baseline);
      const seconds = (performance.now() - started) / 1000;
      card.meter.value = Math.min(bytes, model.downloadBytes);
      card.status.textContent = `Downloading ${formatBytes(bytes)} of ≈ ${formatBytes(model.downloadBytes)} · ${formatBytes(bytes / Math.max(seconds, 0.001))}/s`;
    };
    void tick();
    this.#metering = setInterval(() => void tick(), METER_INTERVAL_MS);
    void done.finally(() => {
      if (this.#metering !== null) clearInterval(this.#metering);
      this.#metering = null;
      card.meter.hidden = true;
      card.status.textContent = `Loaded in ${formatMs(performance.now() - started)}`;
      setTimeout(() => void this.refreshCached(), 3000);
    });
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
