import { ShaderPreprocessError } from './errors.js';

/** Flags a WGSL source is specialised on. An absent flag is false. */
export type ShaderDefines = Readonly<Record<string, boolean>>;

const DIRECTIVE = /^\s*#(if|elif|else|endif)\b\s*(!?)\s*([A-Za-z_][A-Za-z0-9_]*)?\s*$/;

/**
 * The WGSL preprocessor: line directives `#if NAME`, `#if !NAME`, `#elif [!]NAME`, `#else`,
 * `#endif`, nestable. Nothing else: numbers go in `override` constants and shapes in uniforms.
 * Dropped lines become empty lines so WGSL error line numbers still point into the file.
 */
export function preprocess(source: string, defines: ShaderDefines, file = 'shader'): string {
  // One frame per open #if: is this branch emitting, has an earlier branch been taken, was the parent emitting.
  const stack: { active: boolean; taken: boolean; parent: boolean }[] = [];
  const emitting = (): boolean => stack.length === 0 || stack[stack.length - 1]!.active;
  const lines = source.split('\n');
  return lines
    .map((line, i) => {
      if (!/^\s*#/.test(line)) return emitting() ? line : '';
      const m = DIRECTIVE.exec(line);
      if (!m) throw new ShaderPreprocessError(`${file}:${i + 1}: unknown directive "${line.trim()}"`);
      const [, kind, neg, name] = m;
      const test = (): boolean => {
        if (!name) throw new ShaderPreprocessError(`${file}:${i + 1}: #${kind} needs a flag name`);
        return (defines[name] === true) !== (neg === '!');
      };
      if (kind === 'if') {
        const parent = emitting();
        const cond = test();
        stack.push({ active: parent && cond, taken: cond, parent });
        return '';
      }
      const top = stack[stack.length - 1];
      if (!top) throw new ShaderPreprocessError(`${file}:${i + 1}: #${kind} without #if`);
      if (kind === 'elif') {
        const cond = !top.taken && test();
        top.active = top.parent && cond;
        top.taken ||= cond;
      } else if (kind === 'else') {
        if (name) throw new ShaderPreprocessError(`${file}:${i + 1}: #else takes no flag`);
        top.active = top.parent && !top.taken;
        top.taken = true;
      } else {
        stack.pop();
      }
      return '';
    })
    .join('\n')
    .concat(stack.length ? failUnclosed(file) : '');
}

function failUnclosed(file: string): never {
  throw new ShaderPreprocessError(`${file}: #if without #endif`);
}
