import { defineOmniDiffusion, type OmniDiffusionElement, type OmniImageDetail } from '../src/element/index.js';
import { DevicePanel } from './device-panel.js';
import { byId, h } from './dom.js';
import { Gallery, type ResultSettings } from './gallery.js';
import type { DeviceFacts } from './fit-warning.js';
import { LoraPicker } from './lora-picker.js';
import { ModelPicker } from './model-picker.js';
import { MODELS, customModel, type DemoModel } from './models.js';

// Called, not left to the module's import: the package's `sideEffects` lets a production build drop an import kept only for its effect.
defineOmniDiffusion();

/**
 * The demo page: a form that drives one `<omni-diffusion>` element through its attributes,
 * plus the model picker, executor picker, results gallery and device panel around it.
 * Query parameters (`model`, `prompt`, `steps`, `guidance`, `seed`, `size`, `executor`,
 * `endpoint`, `dtype`) preset the form, so a link can share settings.
 */

const SIZES = ['32x32', '64x64', '256x256', '512x512', '512x768', '768x512'];

const params = new URL(location.href).searchParams;
const generator = byId<OmniDiffusionElement>('generator');
const prompt = byId<HTMLTextAreaElement>('prompt');
const negative = byId<HTMLInputElement>('negative');
const steps = byId<HTMLInputElement>('steps');
const guidance = byId<HTMLInputElement>('guidance');
const seed = byId<HTMLInputElement>('seed');
const size = byId<HTMLSelectElement>('size');
const scheduler = byId<HTMLSelectElement>('scheduler');
const endpoint = byId<HTMLInputElement>('endpoint');
const initImage = byId<HTMLInputElement>('init-image');
const clearInit = byId<HTMLButtonElement>('clear-init');
const strength = byId<HTMLInputElement>('strength');
const strengthValue = byId<HTMLOutputElement>('strength-value');
const examples = byId<HTMLDivElement>('examples');
const runBadge = byId<HTMLOutputElement>('run-badge');
const executorStatus = byId<HTMLParagraphElement>('executor-status');

const models = params.get('model') ? [customModel(params.get('model')!), ...MODELS] : MODELS;
const picker = new ModelPicker(byId('models'), models, models[0]!.id, (model) => applyModel(model, true));
const device = new DevicePanel(byId('device'));
const gallery = new Gallery(byId('gallery'), byId('gallery-empty'), byId('gallery-count'), reuse);
// The element takes LoRAs as a property (they are files, not attribute text).
new LoraPicker(byId('lora-files'), byId('lora-list'), (loras) => (generator.loras = loras));

for (const s of SIZES) size.append(h('option', { value: s }, s.replace('x', ' × ')));

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

function executorValue(): string {
  return document.querySelector<HTMLInputElement>('input[name="executor"]:checked')?.value ?? 'webgpu';
}

function setExecutor(value: string): void {
  const radio = document.querySelector<HTMLInputElement>(`input[name="executor"][value="${CSS.escape(value)}"]`);
  if (radio) radio.checked = true;
}

/** Fills the form with a model's defaults (sizes and steps differ a lot between models). */
function applyModel(model: DemoModel, resetSettings: boolean): void {
  if (resetSettings) {
    steps.value = String(model.defaults.steps);
    guidance.value = String(model.defaults.guidance);
    size.value = `${model.defaults.width}x${model.defaults.height}`;
    scheduler.value = model.defaults.scheduler ?? '';
    if (!model.examples.includes(prompt.value) && prompt.value !== '' && models.some((m) => m.examples.includes(prompt.value))) {
      prompt.value = model.examples[0]!;
    }
  }
  examples.replaceChildren(
    ...model.examples.map((text) => {
      const chip = h('button', { type: 'button', class: 'chip' }, text);
      chip.addEventListener('click', () => {
        prompt.value = text;
        syncElement();
        prompt.focus();
      });
      return chip;
    }),
  );
  syncElement();
}

/** Copies the form into the element's attributes; the element reads them on generate(). */
function syncElement(): void {
  const model = picker.selected;
  const [w, hgt] = size.value.split('x');
  const attrs: Record<string, string | null> = {
    prompt: prompt.value,
    'negative-prompt': negative.value || null,
    model: model.source,
    variant: model.variant ?? null,
    steps: steps.value || null,
    guidance: guidance.value || null,
    seed: seed.value || null,
    width: w ?? null,
    height: hgt ?? null,
    scheduler: scheduler.value || null,
    executor: executorValue(),
    endpoint: endpoint.value.trim() || null,
    dtype: model.dtype ?? params.get('dtype'),
    strength: initFile ? strength.value : null,
  };
  strengthValue.textContent = initFile ? strength.value : '(with a start image)';
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null) generator.removeAttribute(name);
    else if (generator.getAttribute(name) !== value) generator.setAttribute(name, value);
  }
  const http = executorValue() === 'http';
  endpoint.required = http;
  executorStatus.textContent = http
    ? 'Runs on the server at the URL above.'
    : `Runs on ${executorValue() === 'onnx' ? 'onnxruntime-web' : 'our WebGPU kernels'} in a worker${endpoint.value.trim() ? ', falling back to the server when the browser cannot.' : '.'}`;
}

let initFile: File | null = null;
let initRequest = 0;

/**
 * Hands the chosen start image to the element at the form's size (img2img keeps the image's
 * size, so it is scaled to the one picked), or clears it.
 */
async function applyInitImage(): Promise<void> {
  const request = ++initRequest;
  const previous = generator.initImage;
  let next: ImageBitmap | null = null;
  if (initFile) {
    const [w, hgt] = size.value.split('x').map(Number);
    next = await createImageBitmap(initFile, { resizeWidth: w, resizeHeight: hgt, resizeQuality: 'high' });
    if (request !== initRequest) {
      next.close();
      return;
    }
  }
  generator.initImage = next;
  if (previous instanceof ImageBitmap) previous.close();
  strength.disabled = initFile === null;
  clearInit.hidden = initFile === null;
  syncElement();
}

function currentSettings(seedUsed: number | null): ResultSettings {
  return {
    prompt: prompt.value,
    negativePrompt: negative.value,
    steps: steps.value,
    guidance: guidance.value,
    seed: seedUsed,
    size: size.value,
    scheduler: scheduler.value,
  };
}

function reuse(settings: ResultSettings): void {
  prompt.value = settings.prompt;
  negative.value = settings.negativePrompt;
  steps.value = settings.steps;
  guidance.value = settings.guidance;
  seed.value = settings.seed === null ? '' : String(settings.seed);
  size.value = settings.size;
  scheduler.value = settings.scheduler;
  syncElement();
  prompt.focus();
  prompt.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

function showExecutor(): void {
  const ran = generator.executorName;
  if (!ran) return;
  const reason = generator.fallbackReason;
  runBadge.textContent = reason ? `Ran on ${ran} (fallback)` : `Ran on ${ran}`;
  runBadge.classList.toggle('warn', reason !== null);
  executorStatus.textContent = reason ? `Ran on ${ran}: ${executorValue()} could not start. ${reason}` : `Ran on ${ran}.`;
}

async function refreshMemory(): Promise<void> {
  const executor = generator.engine?.executor as { memory?: () => Promise<{ liveBytes: number; peakBytes: number }> } | undefined;
  if (typeof executor?.memory !== 'function') {
    device.setMemory(null, null);
    return;
  }
  const m = await executor.memory();
  device.setMemory(m.liveBytes, m.peakBytes);
}

let firstImageMs: number | null = null;
/** Read by the e2e tests: when the first image appeared (ms after navigation) and how many so far. */
const demoState: { firstImageMs: number | null; images: number } = { firstImageMs, images: 0 };
(window as unknown as { omniDemo: typeof demoState }).omniDemo = demoState;

generator.addEventListener('image', (event) => {
  const detail: OmniImageDetail = event.detail;
  if (firstImageMs === null) {
    firstImageMs = performance.now();
    demoState.firstImageMs = firstImageMs;
    device.setFirstImage(firstImageMs);
  }
  demoState.images++;
  showExecutor();
  void gallery.add(detail, currentSettings(detail.seed));
  void refreshMemory();
  void picker.refreshCached();
});
generator.addEventListener('fallback', showExecutor);
generator.addEventListener('progress', (event) => {
  if (event.detail.step === event.detail.total) void refreshMemory();
});

// The model's load, from the engine's load events: download bytes, speed and time left on the model's card.
let loadingModel: DemoModel | null = null;
generator.addEventListener('loadprogress', (event) => {
  if (event.detail.status === 'resolve') loadingModel = picker.selected;
  if (loadingModel) picker.showLoad(loadingModel, event.detail);
  if (event.detail.status === 'ready') loadingModel = null;
});
generator.addEventListener('error', () => {
  loadingModel = null;
  picker.endLoad();
});

byId<HTMLButtonElement>('randomize').addEventListener('click', () => {
  seed.value = String(randomSeed());
  syncElement();
});
prompt.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    syncElement();
    void generator.generate();
  }
});
for (const id of ['settings', 'advanced']) byId<HTMLFormElement>(id).addEventListener('submit', (event) => event.preventDefault());
for (const input of [prompt, negative, steps, guidance, seed, size, scheduler, endpoint]) input.addEventListener('input', syncElement);
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="executor"]')) radio.addEventListener('change', syncElement);
strength.addEventListener('input', syncElement);
initImage.addEventListener('change', () => {
  initFile = initImage.files?.[0] ?? null;
  void applyInitImage();
});
clearInit.addEventListener('click', () => {
  initImage.value = '';
  initFile = null;
  void applyInitImage();
});
size.addEventListener('change', () => {
  if (initFile) void applyInitImage();
});

const startModel = picker.selected;
prompt.value = params.get('prompt') ?? startModel.examples[0]!;
seed.value = params.get('seed') ?? String(randomSeed());
applyModel(startModel, true);
if (params.get('steps')) steps.value = params.get('steps')!;
if (params.get('guidance')) guidance.value = params.get('guidance')!;
if (params.get('size') && SIZES.includes(params.get('size')!)) size.value = params.get('size')!;
if (params.get('executor')) setExecutor(params.get('executor')!);
if (params.get('endpoint')) endpoint.value = params.get('endpoint')!;
syncElement();
void device.render();
void deviceFacts().then((facts) => picker.showFit(facts));

/** The adapter's limits and the memory the browser reports, for the picker's fit warnings. */
async function deviceFacts(): Promise<DeviceFacts> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  const memory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return { limits: adapter ? adapter.limits : null, deviceMemoryGB: typeof memory === 'number' ? memory : null };
}
