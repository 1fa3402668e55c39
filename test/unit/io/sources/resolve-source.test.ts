import { describe, expect, it } from 'vitest';
import { ModelSourceError } from '../../../../src/io/errors.js';
import { HubSource } from '../../../../src/io/sources/hub-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { resolveModelSource } from '../../../../src/io/sources/resolve-source.js';
import { UrlSource } from '../../../../src/io/sources/url-source.js';
import { fixturePath } from '../../../helpers/fixtures.js';

describe('resolveModelSource', () => {
  it('picks URL, folder or Hub source from the name', async () => {
    expect(await resolveModelSource('http://127.0.0.1:1/models/x')).toBeInstanceOf(UrlSource);
    expect(await resolveModelSource(fixturePath('pipeline-sd15-tiny'))).toBeInstanceOf(LocalFolderSource);
    const hub = await resolveModelSource('stabilityai/sd-turbo', { revision: 'v1', endpoint: 'http://127.0.0.1:1' });
    expect(hub).toBeInstanceOf(HubSource);
    expect((hub as HubSource).revision).toBe('v1');
  });

  it('rejects names that are none of these', async () => {
    await expect(resolveModelSource('not a model at all')).rejects.toBeInstanceOf(ModelSourceError);
  });
});
