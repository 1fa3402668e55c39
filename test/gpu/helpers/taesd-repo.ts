import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../../helpers/fixtures.js';

/**
 * Writes the `taesd-decoder` fixture as a TAESD repo in diffusers layout (`config.json` and
 * `diffusion_pytorch_model.safetensors`), as the `taesd` config field takes it, under `dir`.
 */
export function writeTaesdRepo(dir: string): string {
  const fixture = fixturePath('taesd-decoder');
  const config = (JSON.parse(readFileSync(join(fixture, 'fixture.json'), 'utf8')) as { component_config: object }).component_config;
  cpSync(join(fixture, 'model.safetensors'), join(dir, 'diffusion_pytorch_model.safetensors'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}
