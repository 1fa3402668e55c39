import type { DiffusionEngine } from '../api/engine.js';
import type { DiffusionImage } from '../api/image.js';
import type { DiffusionImageInput } from '../api/image-input.js';
import type { DiffusionOutput } from '../api/output.js';
import type { DiffusionProgress, LoraRequest } from '../api/request.js';
import {
  ENGINE_ATTRIBUTES,
  OBSERVED_ATTRIBUTES,
  engineKeyFromAttributes,
  initImageFromAttributes,
  requestFromAttributes,
  type ObservedAttribute,
} from './attributes.js';
import { acquireEngine, type EngineKey, type EngineLease } from './engine-registry.js';
import { loadStatusOf } from './load-status.js';
import type { LoadProgress } from '../api/load-progress.js';
import type { OmniDiffusionEventMap, OmniErrorDetail, OmniFallbackDetail, OmniImageDetail, OmniProgressDetail } from './events.js';
import { drawImage, imageToPngBlob } from './image-blob.js';
import { loadInitImage } from './init-image.js';
import { defineReflectedProperties, type ReflectedProperties } from './reflect.js';
import { buildShadowTree, type ElementParts } from './template.js';

/** What the element is doing; reflected as its `state` attribute for styling. */
export type OmniDiffusionState = 'idle' | 'loading' | 'running' | 'done' | 'cancelled' | 'error';

/** Delay before `autogenerate` reacts to attribute changes, so a burst of edits runs once. */
const AUTOGENERATE_DEBOUNCE_MS = 250;

/** The attribute properties (`prompt`, `negativePrompt`, `steps`, ...): defined after the class from `REFLECTED_ATTRIBUTES`. */
export interface OmniDiffusionElement extends ReflectedProperties {
  addEventListener<K extends keyof OmniDiffusionEventMap>(
    type: K,
    listener: (this: OmniDiffusionElement, ev: OmniDiffusionEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof OmniDiffusionEventMap>(
    type: K,
    listener: (this: OmniDiffusionElement, ev: OmniDiffusionEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

/**
 * `<omni-diffusion>`: text-to-image in one tag. It shows a progress bar with the step count,
 * the live preview of each step, the final image (alt text = prompt) with a download button,
 * errors with their cause and a retry button, and a notice when it runs on the `http` fallback.
 *
 * Attributes (each also a property; numbers as numbers): `prompt`, `negative-prompt`
 * (`negativePrompt`), `model` (Hub id or URL), `steps`, `guidance`, `seed`, `width`, `height`,
 * `scheduler`, `executor` (`webgpu` | `onnx` | `http`), `endpoint` (vllm-omni server; also the
 * fallback of `webgpu`/`onnx`), `decoder` (`vae` | `taesd`), `prompt-syntax` (`promptSyntax`:
 * `a1111` | `plain`; see the request's `promptSyntax`), `dtype`, `variant` (Hub weights,
 * e.g. `fp16`), `init-image` (`initImage`: img2img from an image URL; the property also takes RGBA
 * pixels or an `ImageBitmap`), `strength` (img2img, in (0, 1]), `autogenerate`. Property only:
 * `loras` (LoRAs for every image, `[{ source, scale }]`).
 *
 * Events (`CustomEvent`, typed by {@link OmniDiffusionEventMap}): `progress`, `image`, `error`,
 * `fallback`, `loadprogress` (the model's `LoadProgress` events). Elements with the same model, executor and endpoint share one engine.
 */
export class OmniDiffusionElement extends HTMLElement {
  static readonly observedAttributes: readonly string[] = OBSERVED_ATTRIBUTES;

  readonly #parts: ElementParts;
  #lease: EngineLease | null = null;
  #engine: DiffusionEngine | null = null;
  #announcedFallback: DiffusionEngine | null = null;
  #controller: AbortController | null = null;
  #run = 0;
  #imageUrl: string | null = null;
  #autoTimer: ReturnType<typeof setTimeout> | null = null;
  #state: OmniDiffusionState = 'idle';
  #lastImage: DiffusionImage | null = null;
  #initPixels: DiffusionImageInput | null = null;
  #loras: readonly LoraRequest[] = [];

  constructor() {
    super();
    this.#parts = buildShadowTree(this.attachShadow({ mode: 'open' }));
    this.#parts.generate.addEventListener('click', () => void this.generate());
    this.#parts.retry.addEventListener('click', () => void this.generate());
    this.#parts.cancel.addEventListener('click', () => this.cancel());
  }

  connectedCallback(): void {
    this.#applyAspect();
    this.#reflectState();
    if (this.autogenerate) this.#scheduleAutogenerate();
  }

  disconnectedCallback(): void {
    // A move within the document disconnects and reconnects in one task: keep the engine then.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.cancel();
      this.#releaseEngine();
      if (this.#autoTimer !== null) clearTimeout(this.#autoTimer);
    });
  }

  attributeChangedCallback(name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue === newValue) return;
    if (ENGINE_ATTRIBUTES.has(name)) this.#releaseEngine();
    if (name === 'width' || name === 'height') this.#applyAspect();
    if (!this.isConnected) return;
    if (name === 'autogenerate' ? newValue !== null : this.autogenerate) this.#scheduleAutogenerate();
  }

  /**
   * img2img's init image: the `init-image` URL, or pixels set from script (RGBA pixels such as an
   * `ImageData` or a `DiffusionImage`, or an `ImageBitmap`), which replace the attribute. Null:
   * text-to-image. The request takes its size from the image unless `width`/`height` say otherwise
   * (a mismatch is reported as an error).
   */
  /**
   * LoRAs applied to each image this element generates: `[{ source, scale }]`, each source a URL,
   * Hub path (`owner/repo/file.safetensors`) or `File` (a file input's, say). A property only, as
   * it takes files. Setting it regenerates with `autogenerate`; a LoRA that does not fit the model
   * is reported as an error.
   */
  get loras(): readonly LoraRequest[] { return this.#loras; }
  set loras(v: readonly LoraRequest[] | null) {
    // A path (`/loras/x.safetensors`, `./x.safetensors`) is a URL of this page's site, as `model` is.
    this.#loras = (v ?? []).map((l) => (typeof l.source === 'string' && /^\.{0,2}\//.test(l.source) ? { ...l, source: new URL(l.source, document.baseURI).href } : l));
    if (this.isConnected && this.autogenerate) this.#scheduleAutogenerate();
  }

  get initImage(): string | DiffusionImageInput | null { return this.#initPixels ?? this.getAttribute('init-image'); }
  set initImage(v: string | DiffusionImageInput | null) {
    this.#initPixels = typeof v === 'string' ? null : v;
    if (typeof v === 'string') this.setAttribute('init-image', v);
    else if (this.hasAttribute('init-image')) this.removeAttribute('init-image');
    else if (this.isConnected && this.autogenerate) this.#scheduleAutogenerate();
  }

  /** What the element is doing now. */
  get state(): OmniDiffusionState {
    return this.#state;
  }

  /** The engine in use (shared with other elements of the same model); null before the first run. */
  get engine(): DiffusionEngine | null {
    return this.#engine;
  }

  /** The executor that ran the last generation (`webgpu`, `http`, ...); null before one. */
  get executorName(): string | null {
    return this.#engine?.executorName ?? null;
  }

  /** Why the engine fell back from the requested executor; null when it did not. */
  get fallbackReason(): string | null {
    return this.#engine?.fallbackReason ?? null;
  }

  /** The last image shown; null before the first. */
  get image(): DiffusionImage | null {
    return this.#lastImage;
  }

  /**
   * Generates from the current attributes, cancelling a generation in progress. Resolves with
   * the output, or null when it was cancelled or failed (the element then shows why, and fires
   * `error` for failures).
   */
  async generate(): Promise<DiffusionOutput | null> {
    this.cancel();
    const run = ++this.#run;
    const controller = new AbortController();
    this.#controller = controller;
    const started = performance.now();
    let prompt = '';
    let fetched: ImageBitmap | null = null;
    try {
      const request = requestFromAttributes((n) => this.getAttribute(n));
      prompt = request.prompt;
      const key = engineKeyFromAttributes((n) => this.getAttribute(n), document.baseURI);
      const init = initImageFromAttributes((n) => this.getAttribute(n), document.baseURI);
      this.#setState('loading', 'Loading model…');
      this.#parts.progress.removeAttribute('value');
      this.#parts.stepCount.textContent = '';
      const engine = await this.#engineFor(key, (e) => {
        if (run === this.#run) this.#onLoadProgress(e);
      });
      const loadMs = performance.now() - started;
      if (run !== this.#run) return null;
      this.#announceFallback(engine, key);
      let image = this.#initPixels;
      if (!image && init.url !== null) {
        fetched = await loadInitImage(init.url, this.getAttribute('init-image')!, controller.signal);
        image = fetched;
      }
      if (run !== this.#run) return null;
      this.#setState('running', 'Starting…');
      const output = await engine.generate({
        ...request,
        ...(this.#loras.length ? { loras: this.#loras } : {}),
        ...(image ? { image, ...(init.strength === undefined ? {} : { strength: init.strength }) } : {}),
        signal: controller.signal,
        onProgress: (p) => {
          if (run === this.#run) this.#onProgress(p);
        },
      });
      if (run !== this.#run) return null;
      const result = output.images[0];
      if (!result) throw new Error(`The ${engine.executorName} executor returned no image.`);
      await this.#showImage(result, prompt);
      if (run !== this.#run) return null;
      const steps = request.numInferenceSteps ?? null;
      const perStep = typeof output.metrics.perStepMs === 'number' ? output.metrics.perStepMs : null;
      const totalMs = performance.now() - started;
      this.#setState('done', `Image ready in ${formatMs(totalMs)}: ${prompt}`);
      this.#dispatch('image', {
        image: result,
        prompt,
        negativePrompt: request.negativePrompt ?? null,
        seed: result.seed ?? output.metrics.seeds?.[0] ?? request.seed ?? null,
        executor: engine.executorName,
        timings: { totalMs, loadMs, perStepMs: perStep, steps },
        output,
      } satisfies OmniImageDetail);
      return output;
    } catch (err) {
      if (run !== this.#run) return null;
      const error = err instanceof Error ? err : new Error(String(err));
      if (error.name === 'AbortError') {
        this.#setState('cancelled', 'Cancelled');
        return null;
      }
      this.#showError(error);
      return null;
    } finally {
      fetched?.close();
      if (this.#controller === controller) this.#controller = null;
      if (run === this.#run) this.#parts.cancel.disabled = true;
    }
  }

  /** Cancels the generation in progress, if any; the engine stops between steps. */
  cancel(): void {
    const controller = this.#controller;
    if (!controller) return;
    this.#controller = null;
    controller.abort();
    this.#run++;
    this.#parts.cancel.disabled = true;
    this.#setState('cancelled', 'Cancelled');
  }

  async #engineFor(key: EngineKey, onLoadProgress: (event: LoadProgress) => void): Promise<DiffusionEngine> {
    if (this.#lease && JSON.stringify(this.#lease.key) !== JSON.stringify(key)) this.#releaseEngine();
    this.#lease ??= acquireEngine(key, undefined, onLoadProgress);
    const lease = this.#lease;
    try {
      const engine = await lease.engine;
      if (this.#lease === lease) this.#engine = engine;
      return engine;
    } catch (err) {
      if (this.#lease === lease) this.#releaseEngine();
      throw err;
    }
  }

  #releaseEngine(): void {
    this.#lease?.release();
    this.#lease = null;
    this.#engine = null;
    this.#announcedFallback = null;
    this.#parts.notice.hidden = true;
  }

  #announceFallback(engine: DiffusionEngine, key: EngineKey): void {
    if (engine.fallbackReason === null) {
      this.#parts.notice.hidden = true;
      return;
    }
    this.#parts.noticeText.textContent = `${key.executor} could not start, so this runs on ${engine.executorName}${key.endpoint ? ` (${key.endpoint})` : ''}. ${engine.fallbackReason}`;
    this.#parts.notice.hidden = false;
    if (this.#announcedFallback === engine) return;
    this.#announcedFallback = engine;
    this.#dispatch('fallback', { requested: key.executor, executor: engine.executorName, reason: engine.fallbackReason } satisfies OmniFallbackDetail);
  }

  /** The load's phase in the (announced) status, its bytes, speed and time left beside it, and the bar. */
  #onLoadProgress(event: LoadProgress): void {
    this.#dispatch('loadprogress', event);
    const view = loadStatusOf(event);
    if (!view || this.#state !== 'loading') return;
    const { progress, stepCount } = this.#parts;
    if (view.value !== null && view.max !== null && view.max > 0) {
      progress.max = view.max;
      progress.value = view.value;
    } else {
      progress.removeAttribute('value');
    }
    stepCount.textContent = view.detail;
    if (this.#parts.status.textContent !== view.status) this.#setStatus(view.status);
  }

  #onProgress(p: DiffusionProgress): void {
    const { progress, stepCount, preview, placeholder, image } = this.#parts;
    progress.max = p.total;
    progress.value = p.step;
    stepCount.textContent = `${p.step}/${p.total}`;
    this.#setStatus(`Step ${p.step} of ${p.total}`);
    if (p.preview) {
      drawImage(preview, p.preview);
      preview.hidden = false;
      placeholder.hidden = true;
      image.hidden = true;
    }
    const detail: OmniProgressDetail = { step: p.step, total: p.total, elapsedMs: p.elapsedMs };
    if (p.preview) detail.preview = p.preview;
    this.#dispatch('progress', detail);
  }

  async #showImage(img: DiffusionImage, prompt: string): Promise<void> {
    const { image, preview, placeholder, download } = this.#parts;
    const url = URL.createObjectURL(await imageToPngBlob(img));
    if (this.#imageUrl) URL.revokeObjectURL(this.#imageUrl);
    this.#imageUrl = url;
    this.#lastImage = img;
    image.alt = prompt;
    image.src = url;
    image.hidden = false;
    preview.hidden = true;
    placeholder.hidden = true;
    download.href = url;
    download.download = `omni-diffusion-${img.seed ?? 'image'}.png`;
    download.hidden = false;
  }

  #showError(error: Error): void {
    this.#parts.errorText.textContent = error.message;
    this.#parts.error.hidden = false;
    this.#setState('error', `Failed: ${error.name}`);
    this.#dispatch('error', { name: error.name, message: error.message, error } satisfies OmniErrorDetail);
  }

  #setState(state: OmniDiffusionState, status: string): void {
    this.#state = state;
    const busy = state === 'loading' || state === 'running';
    this.#parts.cancel.disabled = !busy;
    if (state !== 'error') this.#parts.error.hidden = true;
    if (state === 'done') {
      this.#parts.progress.value = this.#parts.progress.max;
    } else if (state === 'cancelled' || state === 'error') {
      this.#parts.progress.value = 0;
    }
    this.#reflectState();
    this.#setStatus(status);
  }

  #setStatus(text: string): void {
    this.#parts.status.textContent = text;
  }

  #reflectState(): void {
    if (this.getAttribute('state') !== this.#state) this.setAttribute('state', this.#state);
    this.toggleAttribute('aria-busy', this.#state === 'loading' || this.#state === 'running');
  }

  #applyAspect(): void {
    const w = this.width;
    const h = this.height;
    if (w && h && w > 0 && h > 0) this.#parts.stage.style.setProperty('--_aspect', `${w} / ${h}`);
    else this.#parts.stage.style.removeProperty('--_aspect');
  }

  #scheduleAutogenerate(): void {
    if (this.#autoTimer !== null) clearTimeout(this.#autoTimer);
    this.#autoTimer = setTimeout(() => {
      this.#autoTimer = null;
      if (this.isConnected && this.autogenerate && this.prompt.trim() !== '') void this.generate();
    }, AUTOGENERATE_DEBOUNCE_MS);
  }

  #dispatch<K extends keyof OmniDiffusionEventMap>(type: K, detail: OmniDiffusionEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

defineReflectedProperties(OmniDiffusionElement.prototype);

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Attribute names, for code that builds the element from settings. */
export type OmniDiffusionAttribute = ObservedAttribute;
