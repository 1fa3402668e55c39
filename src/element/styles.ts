/**
 * Shadow-DOM styles. Hosts theme the element through custom properties (`--omni-accent`,
 * `--omni-surface`, `--omni-text`, `--omni-muted`, `--omni-radius`, `--omni-font`) and style
 * its parts (`stage`, `image`, `preview`, `progress`, `status`, `actions`, `notice`, `error`).
 */
export const ELEMENT_CSS = `
:host {
  --_accent: var(--omni-accent, #6d5efc);
  --_surface: var(--omni-surface, #ffffff);
  --_text: var(--omni-text, #1c1b22);
  --_muted: var(--omni-muted, #6b6a75);
  --_line: var(--omni-line, rgba(20, 20, 40, 0.12));
  --_radius: var(--omni-radius, 14px);
  display: block;
  box-sizing: border-box;
  max-width: 100%;
  color: var(--_text);
  font: 14px/1.45 var(--omni-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
}
@media (prefers-color-scheme: dark) {
  :host {
    --_surface: var(--omni-surface, #17171d);
    --_text: var(--omni-text, #ececf1);
    --_muted: var(--omni-muted, #9a99a6);
    --_line: var(--omni-line, rgba(255, 255, 255, 0.12));
  }
}
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: inherit; }
.card {
  background: var(--_surface);
  border: 1px solid var(--_line);
  border-radius: var(--_radius);
  padding: 12px;
  display: grid;
  gap: 10px;
}
.stage {
  position: relative;
  width: 100%;
  aspect-ratio: var(--_aspect, 1 / 1);
  border-radius: calc(var(--_radius) - 4px);
  overflow: hidden;
  background: color-mix(in srgb, var(--_text) 5%, var(--_surface));
}
.stage img, .stage canvas {
  position: absolute;
  inset: 0;
  width: 100%;
  height: 100%;
  object-fit: contain;
  display: block;
}
.stage canvas { filter: saturate(0.9); }
.placeholder {
  position: absolute;
  inset: 0;
  display: grid;
  place-content: center;
  gap: 6px;
  padding: 16px;
  text-align: center;
  color: var(--_muted);
}
.placeholder svg { justify-self: center; opacity: 0.55; }
[hidden] { display: none !important; }
.meter { display: grid; gap: 4px; }
.meter-row { display: flex; justify-content: space-between; gap: 8px; color: var(--_muted); font-size: 12.5px; font-variant-numeric: tabular-nums; }
progress {
  appearance: none;
  width: 100%;
  height: 6px;
  border: 0;
  border-radius: 999px;
  overflow: hidden;
  background: color-mix(in srgb, var(--_text) 10%, transparent);
}
progress::-webkit-progress-bar { background: transparent; }
progress::-webkit-progress-value { background: var(--_accent); border-radius: 999px; }
progress::-moz-progress-bar { background: var(--_accent); border-radius: 999px; }
progress:not([value])::-webkit-progress-bar {
  background: linear-gradient(90deg, transparent, color-mix(in srgb, var(--_accent) 60%, transparent), transparent) 0 0 / 40% 100% no-repeat;
  animation: slide 1.2s linear infinite;
}
@keyframes slide { from { background-position: -40% 0; } to { background-position: 140% 0; } }
@media (prefers-reduced-motion: reduce) { progress:not([value])::-webkit-progress-bar { animation: none; } }
.actions { display: flex; flex-wrap: wrap; gap: 8px; }
button, a.button {
  font: inherit;
  font-weight: 600;
  display: inline-flex;
  align-items: center;
  justify-content: center;
  gap: 6px;
  min-height: 38px;
  padding: 0 14px;
  border-radius: 10px;
  border: 1px solid var(--_line);
  background: transparent;
  color: var(--_text);
  text-decoration: none;
  cursor: pointer;
}
button:hover, a.button:hover { background: color-mix(in srgb, var(--_text) 6%, transparent); }
button:focus-visible, a.button:focus-visible { outline: 3px solid color-mix(in srgb, var(--_accent) 55%, transparent); outline-offset: 2px; }
button:disabled { opacity: 0.45; cursor: not-allowed; }
button.primary { background: var(--_accent); border-color: transparent; color: #fff; flex: 3 1 auto; }
a.button { flex: 1 0 auto; }
button.primary:hover { background: color-mix(in srgb, var(--_accent) 88%, #000); }
.notice, .error {
  border-radius: 10px;
  padding: 9px 11px;
  font-size: 13px;
  overflow-wrap: anywhere;
}
.notice { background: color-mix(in srgb, #f5a524 16%, transparent); border: 1px solid color-mix(in srgb, #f5a524 45%, transparent); }
.error { background: color-mix(in srgb, #e5484d 12%, transparent); border: 1px solid color-mix(in srgb, #e5484d 45%, transparent); display: grid; gap: 8px; }
.error strong, .notice strong { display: block; }
.error .actions { margin: 0; }
`;
