import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecutorUnavailableError } from '../../../src/api/errors.js';
import { dawnLoadError } from '../../../src/webgpu/device.js';

/** The error Node itself gives `import('webgpu')` in a folder where the package is not installed. */
function nodeMissingWebgpuError(): Error {
  const dir = mkdtempSync(join(tmpdir(), 'no-webgpu-'));
  try {
    const script = "await import('webgpu').then(() => console.log('null'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))";
    const seen = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' })) as { code: string; message: string } | null;
    if (seen === null) throw new Error(`"webgpu" resolves from ${dir}: a node_modules above it has the package`);
    return Object.assign(new Error(seen.message), { code: seen.code });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('dawnLoadError', () => {
  it('tells a Node app without the optional "webgpu" peer dependency to run npm install webgpu', () => {
    const cause = nodeMissingWebgpuError();
    const err = dawnLoadError(cause);
    expect(err).toBeInstanceOf(ExecutorUnavailableError);
    expect(err.message).toContain('npm install webgpu');
    expect(err.cause).toBe(cause);
  });

  it('keeps the message of any other load failure, such as a missing dependency of the package', () => {
    const cause = Object.assign(new Error("Cannot find package 'debug' imported from /app/node_modules/webgpu/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const err = dawnLoadError(cause);
    expect(err).toBeInstanceOf(ExecutorUnavailableError);
    expect(err.message).not.toContain('npm install webgpu');
    expect(err.message).toContain("Cannot find package 'debug'");
  });

  it('keeps the message of a native addon that fails to load', () => {
    const cause = Object.assign(new Error('libvulkan.so.1: cannot open shared object file'), { code: 'ERR_DLOPEN_FAILED' });
    expect(dawnLoadError(cause).message).toContain('libvulkan.so.1');
  });
});
