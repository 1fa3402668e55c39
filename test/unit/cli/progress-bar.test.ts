import { describe, expect, it } from 'vitest';
import { formatProgress, formatSeconds, ProgressBar } from '../../../src/cli/progress-bar.js';

function capture(tty: boolean): { bar: ProgressBar; text: () => string } {
  let text = '';
  return { bar: new ProgressBar((s) => (text += s), tty), text: () => text };
}

describe('ProgressBar', () => {
  it('formats steps done/total, steps/s and the ETA', () => {
    expect(formatProgress({ step: 5, total: 20, elapsedMs: 1000 })).toBe('[######------------------] 5/20  5.00 steps/s  ETA 3.0s');
    expect(formatProgress({ step: 24, total: 24, elapsedMs: 2000 })).toBe('[########################] 24/24  12.0 steps/s  ETA 0.00s');
    expect(formatProgress({ step: 1, total: 4, elapsedMs: 0 })).toMatch(/ETA \?$/);
  });

  it('formats seconds by their size', () => {
    expect([formatSeconds(0.421), formatSeconds(3.14), formatSeconds(125)]).toEqual(['0.42s', '3.1s', '2m05s']);
  });

  it('redraws one line with \\r on a terminal and ends it on finish', () => {
    const { bar, text } = capture(true);
    for (let step = 1; step <= 3; step++) bar.update({ step, total: 3, elapsedMs: step * 100 });
    bar.finish();
    expect(text().split('\r')).toHaveLength(4);
    expect(text()).not.toMatch(/\n.*\n/s);
    expect(text().endsWith('\n')).toBe(true);
  });

  it('prints plain lines only at each quarter when not on a terminal', () => {
    const { bar, text } = capture(false);
    for (let step = 1; step <= 20; step++) bar.update({ step, total: 20, elapsedMs: step * 100 });
    bar.finish();
    const lines = text().trim().split('\n');
    expect(lines.map((l) => l.match(/ (\d+)\/20 /)![1])).toEqual(['1', '5', '10', '15', '20']);
    expect(text()).not.toContain('\r');
  });
});
