import { safeSnippet } from '../io/snippet.js';

/** Short, safe rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  // Config and request values may come from strangers: cut short, controls and bidi overrides escaped.
  if (typeof value === 'string') return `"${safeSnippet(value, 80)}"`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `array(${value.length})`;
  const ctor = (value as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `[${ctor}]` : '[object]';
}
