import { describe, expect, it } from 'vitest';
import { errorDetailOf, renderDetail } from '../../../../src/executors/http/detail.js';

describe('renderDetail', () => {
  it('keeps a string detail as is', () => {
    expect(renderDetail('Invalid size')).toBe('Invalid size');
  });

  it('renders a FastAPI validation list as loc: msg pairs, without the leading "body"', () => {
    const detail = [
      { loc: ['body', 'size'], msg: 'bad size', type: 'value_error' },
      { loc: ['query', 'x', 0], msg: 'missing' },
      { msg: 'no location' },
    ];
    expect(renderDetail(detail)).toBe('size: bad size; query.x.0: missing; no location');
  });

  it('renders an object by its message, or as JSON when it has none', () => {
    expect(renderDetail({ message: 'model not loaded', type: 'invalid_request_error' })).toBe('model not loaded');
    expect(renderDetail({ code: 7 })).toBe('{"code":7}');
  });

  it('returns null for nothing to show', () => {
    expect([undefined, null, '', []].map(renderDetail)).toEqual([null, null, null, null]);
  });
});

describe('errorDetailOf', () => {
  it('reads FastAPI, OpenAI-style and AUTOMATIC1111 error bodies', () => {
    expect(errorDetailOf('{"detail": "boom"}')).toBe('boom');
    expect(errorDetailOf('{"error": {"message": "quota exceeded", "type": "rate_limit"}}')).toBe('quota exceeded');
    expect(errorDetailOf('{"error": "OutOfMemoryError", "detail": "", "body": ""}')).toBe('OutOfMemoryError');
    expect(errorDetailOf('{"object": "error", "message": "bad model"}')).toBe('bad model');
  });

  it('uses a plain-text body, but not an HTML page or an empty body', () => {
    expect(errorDetailOf('upstream timed out\n')).toBe('upstream timed out');
    expect(errorDetailOf('<html><body>502</body></html>')).toBeNull();
    expect(errorDetailOf('')).toBeNull();
    expect(errorDetailOf('{"ok": false}')).toBeNull();
  });

  it('truncates very long details', () => {
    const detail = errorDetailOf(JSON.stringify({ detail: 'x'.repeat(5000) }))!;
    expect(detail.length).toBeLessThanOrEqual(500);
    expect(detail.endsWith('...')).toBe(true);
  });
});
