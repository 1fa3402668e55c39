import { ELEMENT_CSS } from './styles.js';

/** The shadow tree's nodes the element updates. */
export interface ElementParts {
  stage: HTMLDivElement;
  image: HTMLImageElement;
  preview: HTMLCanvasElement;
  placeholder: HTMLDivElement;
  progress: HTMLProgressElement;
  status: HTMLSpanElement;
  stepCount: HTMLSpanElement;
  notice: HTMLDivElement;
  noticeText: HTMLSpanElement;
  error: HTMLDivElement;
  errorText: HTMLSpanElement;
  retry: HTMLButtonElement;
  generate: HTMLButtonElement;
  cancel: HTMLButtonElement;
  download: HTMLAnchorElement;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) if (value !== undefined) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function imageIcon(): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '40');
  svg.setAttribute('height', '40');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm0 2v10.6l3.3-3.3a1 1 0 0 1 1.4 0L13 15.6l2.3-2.3a1 1 0 0 1 1.4 0L19 15.6V5H5zm10.5 1.5a2 2 0 1 1 0 4 2 2 0 0 1 0-4z');
  svg.append(path);
  return svg;
}

/**
 * Builds the shadow tree with DOM calls only: no markup strings, so attribute values (the
 * prompt above all) can only ever land in text nodes and properties.
 */
export function buildShadowTree(root: ShadowRoot): ElementParts {
  const style = el('style');
  style.textContent = ELEMENT_CSS;

  const image = el('img', { part: 'image', decoding: 'async' });
  image.hidden = true;
  const preview = el('canvas', { part: 'preview', 'aria-hidden': 'true' });
  preview.hidden = true;
  const placeholder = el('div', { class: 'placeholder' }, imageIcon(), el('span', {}, 'Your image will appear here'));
  const stage = el('div', { class: 'stage', part: 'stage' }, placeholder, preview, image);

  const status = el('span', { class: 'status', part: 'status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }, 'Ready');
  const stepCount = el('span', { class: 'steps', 'aria-hidden': 'true' });
  const progress = el('progress', { part: 'progress', max: '1', value: '0', 'aria-label': 'Generation progress' });
  const meter = el('div', { class: 'meter' }, el('div', { class: 'meter-row' }, status, stepCount), progress);

  const noticeText = el('span');
  const notice = el('div', { class: 'notice', part: 'notice', role: 'note' }, el('strong', {}, 'Running on a server'), noticeText);
  notice.hidden = true;

  const errorText = el('span', { class: 'error-text' });
  const retry = el('button', { type: 'button', part: 'retry' }, 'Retry');
  const error = el('div', { class: 'error', part: 'error', role: 'alert' }, el('strong', {}, 'Generation failed'), errorText, el('div', { class: 'actions' }, retry));
  error.hidden = true;

  const generate = el('button', { type: 'button', class: 'primary', part: 'generate' }, 'Generate');
  const cancel = el('button', { type: 'button', part: 'cancel' }, 'Cancel');
  cancel.disabled = true;
  const download = el('a', { class: 'button', part: 'download' }, 'Download PNG');
  download.hidden = true;
  const actions = el('div', { class: 'actions', part: 'actions' }, generate, cancel, download);

  root.append(style, el('div', { class: 'card', part: 'card' }, stage, meter, notice, error, actions));
  return { stage, image, preview, placeholder, progress, status, stepCount, notice, noticeText, error, errorText, retry, generate, cancel, download };
}
