"""After training: judge the samples, write the shipped model (f16) and the golden fixtures."""
import copy
import json
import os
import shutil
import sys

import torch

import configs
import shapes
from schedule import ddim_sample

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from safetensors_io import write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "models", "tiny-shapes")
FIXTURES_DIR = os.path.join(ROOT, "test", "fixtures")
TOKENIZER_SRC = os.path.join(ROOT, "..", "shared", "fixtures", "tokenizer-clip")
REFERENCE = {"torch": torch.__version__, "implementation": "tools/train-tiny/nets.py (plain PyTorch, diffusers 0.40 / transformers 5.18 semantics)"}
EVAL_CASES = 80


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def round_to_f16(*models):
    """The shipped weights are f16; everything after this point uses them upcast to f32."""
    with torch.no_grad():
        for m in models:
            for p in m.parameters():
                p.copy_(p.half().float())


def eval_cases():
    gen = torch.Generator().manual_seed(1234)
    spec = shapes.sample_specs(EVAL_CASES, gen)
    texts = shapes.captions_of(*spec[:5])
    return texts, spec


def evaluate(text_encoder, unet, captions, steps, guidance, clip_sample):
    """Validation: captions and noise seeds of their own (5000 + i), not the TypeScript quality
    test's (seeds 1000-1039), so choosing settings here does not tune to that test."""
    texts, spec = eval_cases()
    noise = torch.stack([torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(5000 + i)) for i in range(EVAL_CASES)])
    with torch.no_grad():
        cond, _ = text_encoder(captions(texts))
        uncond, _ = text_encoder(captions([""] * EVAL_CASES))
        images = ddim_sample(unet, cond, uncond, noise, {**configs.SCHEDULER, "clip_sample": clip_sample}, steps, guidance)
    rows, colors_ok, shape_ok, all_ok = [], 0, 0, 0
    for i in range(EVAL_CASES):
        fg, bg, kind, fill = shapes.judge(images[i])
        want = (int(spec[0][i]), int(spec[1][i]), int(spec[2][i]))
        c_ok = fg == want[0] and bg == want[1]
        s_ok = kind == want[2]
        colors_ok += c_ok
        shape_ok += s_ok
        all_ok += c_ok and s_ok
        rows.append({"caption": texts[i], "seed": 5000 + i, "fg": fg, "bg": bg, "shape": kind, "fill": round(fill, 3), "colors_ok": c_ok, "shape_ok": s_ok})
    return {"colors": colors_ok / EVAL_CASES, "shape": shape_ok / EVAL_CASES, "all": all_ok / EVAL_CASES, "cases": rows}, images


def save_grid(images, path, cols=8, scale=4):
    from PIL import Image

    n = images.shape[0]
    rows = (n + cols - 1) // cols
    pix = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    grid = Image.new("RGB", (cols * (32 * scale + 4), rows * (32 * scale + 4)), (128, 128, 128))
    for i in range(n):
        im = Image.fromarray(pix[i]).resize((32 * scale, 32 * scale), Image.NEAREST)
        grid.paste(im, ((i % cols) * (32 * scale + 4) + 2, (i // cols) * (32 * scale + 4) + 2))
    grid.save(path)


def f64_gap(model, inputs, outputs):
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        ref = m64(*[x.double() if x.is_floating_point() else x for x in inputs])
    ref = ref if isinstance(ref, tuple) else (ref,)
    return max(float((a.double() - b).abs().max()) for a, b in zip(outputs, ref))


def tolerance(outputs, max_rel_l2):
    mag = max(1.0, max(float(o.abs().max()) for o in outputs))
    return {"max_abs": float(f"{1e-3 * mag:.2g}"), "max_rel_l2": max_rel_l2}


def write_text_encoder_fixture(text_encoder, captions):
    prompts = ["a red circle on a blue background", "a small yellow triangle against a black background"]
    ids = captions(prompts)
    with torch.no_grad():
        last, pooled = text_encoder(ids)
    d = os.path.join(FIXTURES_DIR, "tiny-shapes-text-encoder")
    cfg = dict(configs.TEXT_ENCODER, dtype="float32")
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), text_encoder.state_dict(), {"format": "pt"})
    write_safetensors(os.path.join(d, "io.safetensors"), {"input_ids": ids, "last_hidden_state": last, "pooler_output": pooled})
    write_json(os.path.join(d, "fixture.json"), {
        "kind": "text_encoder",
        "description": "The trained text encoder of models/tiny-shapes (CLIPTextModel, quick_gelu, SD 1.x padding); weights are the shipped f16 ones upcast to f32",
        "reference": REFERENCE,
        "component_config": cfg,
        "inputs": ["input_ids"],
        "outputs": ["last_hidden_state", "pooler_output"],
        "tolerance": tolerance([last, pooled], 1e-4),
        "weights": "model.safetensors",
        "prompts": prompts,
        "pad_token_id_used": 49407,
        "call": "last_hidden_state, pooler_output = CLIPTextModel(input_ids) (no attention mask, as SD pipelines call it); pooler_output is the final hidden state at argmax(input_ids) (config eos_token_id == 2, the legacy rule)",
        "observed": {"f32_vs_f64_max_abs": f64_gap(text_encoder, [ids], [last, pooled]), "out_abs_max": float(last.abs().max())},
    })
    return last


def write_unet_fixture(unet, ctx):
    gen = torch.Generator().manual_seed(7)
    sample = torch.randn(2, 3, 32, 32, generator=gen)
    steps = [torch.tensor([999.0]), torch.tensor([449.0])]
    with torch.no_grad():
        outs = [unet(sample, t, ctx) for t in steps]
    d = os.path.join(FIXTURES_DIR, "tiny-shapes-unet")
    write_json(os.path.join(d, "config.json"), configs.UNET)
    write_safetensors(os.path.join(d, "model.safetensors"), unet.state_dict(), {"format": "pt"})
    write_safetensors(os.path.join(d, "io.safetensors"), {
        "sample": sample, "encoder_hidden_states": ctx, "timestep": steps[0], "timestep_1": steps[1],
        "out_sample": outs[0], "out_sample_1": outs[1],
    })
    gaps = [f64_gap(unet, [sample, t, ctx], [o]) for t, o in zip(steps, outs)]
    write_json(os.path.join(d, "fixture.json"), {
        "kind": "unet",
        "description": "The trained pixel-space UNet of models/tiny-shapes (3 channels, 32x32); weights are the shipped f16 ones upcast to f32; encoder_hidden_states are the trained text encoder's outputs",
        "reference": REFERENCE,
        "component_config": configs.UNET,
        "inputs": ["sample", "encoder_hidden_states", "timestep", "timestep_1"],
        "outputs": ["out_sample", "out_sample_1"],
        "tolerance": tolerance(outs, 5e-4),
        "weights": "model.safetensors",
        "io_pairs": [["timestep", "out_sample"], ["timestep_1", "out_sample_1"]],
        "call": "out_sample = unet(sample, timestep (one value, broadcast over the batch), encoder_hidden_states).sample",
        "observed": {"f32_vs_f64_max_abs": max(gaps), "out_abs_max": max(float(o.abs().max()) for o in outs)},
    })


def write_model(text_encoder, unet, clip_sample, guidance):
    half = lambda sd: {k: v.half() for k, v in sd.items()}  # noqa: E731
    write_json(os.path.join(MODEL_DIR, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": "0.40.0",
        # Read by omni-diffusion (src/pipelines/model-defaults.ts); diffusers skips `_` keys.
        "_omni_diffusion_defaults": {"num_inference_steps": configs.DEFAULT_STEPS, "guidance_scale": guidance},
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", configs.SCHEDULER["_class_name"]],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": [None, None],
    })
    write_json(os.path.join(MODEL_DIR, "unet", "config.json"), configs.UNET)
    write_safetensors(os.path.join(MODEL_DIR, "unet", "diffusion_pytorch_model.safetensors"), half(unet.state_dict()), {"format": "pt"})
    write_json(os.path.join(MODEL_DIR, "text_encoder", "config.json"), configs.TEXT_ENCODER)
    write_safetensors(os.path.join(MODEL_DIR, "text_encoder", "model.safetensors"), half(text_encoder.state_dict()), {"format": "pt"})
    write_json(os.path.join(MODEL_DIR, "scheduler", "scheduler_config.json"), {**configs.SCHEDULER, "clip_sample": clip_sample})
    os.makedirs(os.path.join(MODEL_DIR, "tokenizer"), exist_ok=True)
    for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(os.path.join(TOKENIZER_SRC, name), os.path.join(MODEL_DIR, "tokenizer", name))


def run(args, load_trained, captions):
    """Picks the sampler settings on the EMA weights, then EMA or raw weights at those settings,
    by the share of validation images with colours and shape right."""
    results = {}
    text_encoder, unet, step = load_weights(args, load_trained, True)
    best = None
    for clip, guidance in configs.SAMPLER_CANDIDATES:
        score, images = evaluate(text_encoder, unet, captions, configs.DEFAULT_STEPS, guidance, clip)
        note(results, "ema", step, clip, guidance, score)
        if best is None or score["all"] > best[0]["all"]:
            best = (score, images, text_encoder, unet, "ema", clip, guidance)
    _, _, _, _, _, clip, guidance = best
    raw = load_weights(args, load_trained, False)
    score, images = evaluate(raw[0], raw[1], captions, configs.DEFAULT_STEPS, guidance, clip)
    note(results, "raw", step, clip, guidance, score)
    if score["all"] > best[0]["all"]:
        best = (score, images, raw[0], raw[1], "raw", clip, guidance)
    score, images, text_encoder, unet, name, clip, guidance = best
    save_grid(images, os.path.join(args.work_dir, "samples.png"))
    write_model(text_encoder, unet, clip, guidance)
    ctx = write_text_encoder_fixture(text_encoder, captions)
    write_unet_fixture(unet, ctx)
    sampler = {"steps": configs.DEFAULT_STEPS, "clip_sample": clip, "guidance_scale": guidance}
    report = {"steps": step, "shipped_weights": name, "sampler": sampler, "scores": results, "cases": score["cases"]}
    write_json(os.path.join(args.work_dir, "eval.json"), report)
    print(f"shipped {name} weights, clip_sample {clip}, default guidance {guidance}; grid at {os.path.join(args.work_dir, 'samples.png')}", flush=True)


def load_weights(args, load_trained, use_ema):
    text_encoder, unet, step = load_trained(args.work_dir, use_ema)
    text_encoder.eval()
    unet.eval()
    round_to_f16(text_encoder, unet)
    return text_encoder, unet, step


def note(results, name, step, clip, guidance, score):
    results[f"{name} clip_sample {clip} guidance {guidance}"] = {k: score[k] for k in ("colors", "shape", "all")}
    print(f"{name} weights after {step} steps, clip_sample {clip}, guidance {guidance}: colours {score['colors']:.3f} shape {score['shape']:.3f} both {score['all']:.3f}", flush=True)
