import { CheckpointFormatError } from './errors.js';

/** Extensions of PyTorch pickle checkpoints (`torch.save`): loading one runs whatever code it holds. */
const PICKLE_EXTENSIONS = ['.ckpt', '.pt', '.pth', '.bin'];

const HOW_TO_CONVERT =
  'Unpickling can run arbitrary code, so omni-diffusion never opens one. Convert it to safetensors where you trust it, e.g. ' +
  "`python -c \"import torch, safetensors.torch as st; sd = torch.load('model.ckpt', map_location='cpu', weights_only=True); " +
  "st.save_file({k: v.contiguous() for k, v in sd.get('state_dict', sd).items() if hasattr(v, 'contiguous')}, 'model.safetensors')\"` " +
  "or the `safetensors` project's convert script, and load the .safetensors file.";

/** Whether `path` names a checkpoint file by its extension (safetensors, or a pickle format), ignoring a URL's query. */
export function isCheckpointFileName(path: string): boolean {
  const name = path.replace(/[?#].*$/, '').toLowerCase();
  return name.endsWith('.safetensors') || PICKLE_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** Throws `CheckpointFormatError` (`pickle`) when `path` names a pickle checkpoint; checked before anything is read. */
export function refusePickleName(path: string): void {
  const name = path.replace(/[?#].*$/, '').toLowerCase();
  const ext = PICKLE_EXTENSIONS.find((e) => name.endsWith(e));
  if (ext) throw new CheckpointFormatError(path, 'pickle', `"${ext}" checkpoints are Python pickles (torch.save). ${HOW_TO_CONVERT}`);
}

/**
 * Throws `CheckpointFormatError` (`pickle`) when a file's first bytes are a pickle (protocol 2 to 5
 * start with 0x80 and the protocol number) or a zip archive (`PK\x03\x04`, the format `torch.save`
 * writes since PyTorch 1.6), whatever the file is called. `prefix` is the start of the file (2+ bytes).
 */
export function refusePickleBytes(file: string, prefix: Uint8Array): void {
  const [b0, b1, b2, b3] = prefix;
  const pickle = b0 === 0x80 && b1 !== undefined && b1 >= 2 && b1 <= 5;
  const zip = b0 === 0x50 && b1 === 0x4b && b2 === 0x03 && b3 === 0x04;
  if (pickle || zip) {
    const what = zip ? 'a zip archive (what torch.save writes)' : `a Python pickle (protocol ${b1})`;
    throw new CheckpointFormatError(file, 'pickle', `the file is ${what}, not safetensors. ${HOW_TO_CONVERT}`);
  }
}
