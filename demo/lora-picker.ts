import type { LoraRequest } from '../src/api/request.js';
import { h } from './dom.js';

/** One chosen LoRA: its file and the scale its slider sets. */
interface Chosen {
  file: File;
  scale: number;
}

/**
 * The LoRA picker: `.safetensors` files from the user's disk (kohya/A1111 or diffusers form),
 * each with a scale slider and a remove button. Every change hands the list to `onChange` as
 * request LoRAs; the files stay in memory only (the engine caches their uploaded weights).
 */
export class LoraPicker {
  readonly #chosen: Chosen[] = [];

  constructor(
    private readonly input: HTMLInputElement,
    private readonly list: HTMLUListElement,
    private readonly onChange: (loras: LoraRequest[]) => void,
  ) {
    input.addEventListener('change', () => {
      for (const file of input.files ?? []) this.#chosen.push({ file, scale: 1 });
      input.value = '';
      this.#render();
    });
  }

  /** The LoRAs as the request takes them. */
  get loras(): LoraRequest[] {
    return this.#chosen.map((c) => ({ source: c.file, scale: c.scale }));
  }

  #render(): void {
    this.list.replaceChildren(
      ...this.#chosen.map((c, i) => {
        const id = `lora-scale-${i}`;
        const value = h('output', { for: id, class: 'muted' }, c.scale.toFixed(2));
        const slider = h('input', { id, type: 'range', min: '-1', max: '2', step: '0.05', value: String(c.scale), 'aria-label': `Scale of ${c.file.name}` });
        slider.addEventListener('input', () => {
          c.scale = Number(slider.value);
          value.textContent = c.scale.toFixed(2);
          this.onChange(this.loras);
        });
        const remove = h('button', { type: 'button', class: 'icon-button', 'aria-label': `Remove ${c.file.name}`, title: 'Remove' }, '✕');
        remove.addEventListener('click', () => {
          this.#chosen.splice(i, 1);
          this.#render();
        });
        return h('li', { class: 'lora' }, h('span', { class: 'lora-name' }, c.file.name), slider, value, remove);
      }),
    );
    this.onChange(this.loras);
  }
}
