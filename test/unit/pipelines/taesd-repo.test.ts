import { describe, expect, it } from 'vitest';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { DEFAULT_TAESD, DEFAULT_TAESDXL, taesdRepoFor } from '../../../src/pipelines/taesd-repo.js';
import { fixturePath, repoRoot } from '../../helpers/fixtures.js';

describe("taesdRepoFor (the taesd config value 'auto')", () => {
  it("picks taesdxl for SDXL pipelines and taesd for the others, by model_index.json's _class_name", async () => {
    expect(await taesdRepoFor(new LocalFolderSource(fixturePath('pipeline-sdxl-tiny')))).toBe(DEFAULT_TAESDXL);
    expect(await taesdRepoFor(new LocalFolderSource(fixturePath('pipeline-sdxl-turbo-tiny')))).toBe(DEFAULT_TAESDXL);
    expect(await taesdRepoFor(new LocalFolderSource(fixturePath('pipeline-sd15-tiny')))).toBe(DEFAULT_TAESD);
    expect(await taesdRepoFor(new LocalFolderSource(`${repoRoot}/bench/configs/sdxl-base`))).toBe(DEFAULT_TAESDXL);
  });
});
