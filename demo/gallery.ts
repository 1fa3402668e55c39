import { imageToPngBlob, type OmniImageDetail } from '../src/element/index.js';
import { formatMs, h } from './dom.js';

/** Settings a result was made with, for "Reuse settings". */
export interface ResultSettings {
  prompt: string;
  negativePrompt: string;
  steps: string;
  guidance: string;
  seed: number | null;
  size: string;
  scheduler: string;
}

/**
 * The results gallery: newest first, each with its prompt, seed, timings, executor, a PNG
 * download and a button that puts its settings back into the form.
 */
export class Gallery {
  readonly #list: HTMLUListElement;
  readonly #empty: HTMLElement;
  readonly #count: HTMLElement;
  readonly #reuse: (settings: ResultSettings) => void;

  constructor(list: HTMLUListElement, empty: HTMLElement, count: HTMLElement, reuse: (settings: ResultSettings) => void) {
    this.#list = list;
    this.#empty = empty;
    this.#count = count;
    this.#reuse = reuse;
  }

  async add(detail: OmniImageDetail, settings: ResultSettings): Promise<void> {
    const url = URL.createObjectURL(await imageToPngBlob(detail.image));
    const { timings } = detail;
    const img = h('img', { src: url, width: String(detail.image.width), height: String(detail.image.height) });
    img.alt = detail.prompt;
    const download = h('a', { class: 'button small', href: url, download: `omni-diffusion-${detail.seed ?? 'image'}.png` }, 'Download PNG');
    const reuse = h('button', { type: 'button', class: 'button small' }, 'Reuse settings');
    reuse.addEventListener('click', () => this.#reuse(settings));
    const perStep = timings.perStepMs !== null ? `${formatMs(timings.perStepMs)}/step · ` : '';
    const item = h(
      'li',
      { class: 'result' },
      h('div', { class: 'thumb' }, img),
      h(
        'div',
        { class: 'result-body' },
        h('p', { class: 'result-prompt' }, detail.prompt || '(empty prompt)'),
        h(
          'p',
          { class: 'result-meta' },
          `seed ${detail.seed ?? '?'} · ${detail.image.width}×${detail.image.height} · ${perStep}${formatMs(timings.totalMs)} total · ${detail.executor}`,
        ),
        h('div', { class: 'result-actions' }, download, reuse),
      ),
    );
    this.#list.prepend(item);
    this.#empty.hidden = true;
    const n = this.#list.children.length;
    this.#count.textContent = `${n} image${n === 1 ? '' : 's'}`;
  }
}
