"""Trains the tiny shipped text-to-image model `models/tiny-shapes/` on procedural shapes.

    nice -n 10 /usr/bin/python3 tools/train-tiny/train.py --steps N

CPU only, 2 threads, fixed seeds. Trains, then writes the model (f16 safetensors, diffusers
layout), the golden fixtures for the trained weights, and samples judged by the analytic checker.
A checkpoint is kept in --work-dir so an interrupted run resumes where it stopped.
"""
import argparse
import math
import os
import sys
import time

# OpenBLAS's own thread pool fights torch's OpenMP pool for the same 2 cores: with both at 2
# threads a training step takes twice as long as with BLAS single-threaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import configs  # noqa: E402
import shapes  # noqa: E402
from clip_bpe import ClipBPE  # noqa: E402
from nets import CLIPTextModel, UNet2DConditionModel  # noqa: E402
from schedule import alphas_cumprod  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER_DIR = os.path.join(ROOT, "..", "shared", "fixtures", "tokenizer-clip")
FOCUS_LO, FOCUS_HI = 50, 500


def build():
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(configs.TEXT_ENCODER)
    unet = UNet2DConditionModel(configs.UNET)
    return text_encoder, unet


class Captions:
    """Token ids per caption, cached (the data uses a few thousand distinct captions)."""

    def __init__(self):
        self.bpe = ClipBPE(os.path.join(TOKENIZER_DIR, "vocab.json"), os.path.join(TOKENIZER_DIR, "merges.txt"))
        self.cache = {}

    def __call__(self, texts):
        for t in texts:
            if t not in self.cache:
                self.cache[t] = self.bpe.input_ids(t)
        return torch.tensor([self.cache[t] for t in texts], dtype=torch.long)


def learning_rate(args, step):
    """Linear warm-up, then a cosine decay to 1% of the peak at --steps: the low-rate tail is what
    sharpens the shapes (a constant rate left squares with rounded corners)."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def sample_timesteps(args, gen):
    """Uniform t for half the batch; the rest from [FOCUS_LO, FOCUS_HI), where noise/signal runs
    0.17-3.5 and the shape's kind and its straight edges are decided. Above t=600 (40% of a
    uniform draw) only the colours are still visible, and those are learned early."""
    n = configs.SCHEDULER["num_train_timesteps"]
    uniform = torch.randint(0, n, (args.batch,), generator=gen)
    focus = torch.randint(FOCUS_LO, FOCUS_HI, (args.batch,), generator=gen)
    pick = torch.rand(args.batch, generator=gen) < args.t_focus
    return torch.where(pick, focus, uniform)


def train(args):
    text_encoder, unet = build()
    params = list(text_encoder.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    ema = [p.detach().clone() for p in params]
    gen = torch.Generator().manual_seed(1)
    captions = Captions()
    ac = alphas_cumprod(configs.SCHEDULER)
    step = 0
    ckpt_path = os.path.join(args.work_dir, "checkpoint.pt")
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        text_encoder.load_state_dict(ck["text_encoder"])
        unet.load_state_dict(ck["unet"])
        opt.load_state_dict(ck["opt"])
        ema = ck["ema"]
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["rng"])
        step = ck["step"]
        print(f"resumed at step {step}", flush=True)
    start = time.time()
    running = 0.0
    while step < args.steps:
        spec = shapes.sample_specs(args.batch, gen)
        x0 = shapes.render(spec[0], spec[1], spec[2], spec[5], spec[6], spec[7])
        texts = shapes.captions_of(*spec[:5])
        drop = torch.rand(args.batch, generator=gen) < args.uncond_prob
        texts = ["" if d else t for t, d in zip(texts, drop.tolist())]
        ids = captions(texts)
        t = sample_timesteps(args, gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        v = a.sqrt() * noise - (1 - a).sqrt() * x0

        lr = learning_rate(args, step)
        for g in opt.param_groups:
            g["lr"] = lr
        ctx, _ = text_encoder(ids)
        loss = torch.nn.functional.mse_loss(unet(xt, t.float(), ctx), v)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        step += 1
        running += loss.item()
        if step % 50 == 0:
            print(f"step {step} loss {running / 50:.4f} lr {lr:.2e} {time.time() - start:.0f}s", flush=True)
            running = 0.0
        if step % args.save_every == 0 or step == args.steps:
            torch.save({
                "text_encoder": text_encoder.state_dict(), "unet": unet.state_dict(), "opt": opt.state_dict(),
                "ema": ema, "gen": gen.get_state(), "rng": torch.get_rng_state(), "step": step,
            }, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
    print(f"trained {step} steps in {time.time() - start:.0f}s (this session)", flush=True)


def load_trained(work_dir, use_ema):
    text_encoder, unet = build()
    ck = torch.load(os.path.join(work_dir, "checkpoint.pt"))
    text_encoder.load_state_dict(ck["text_encoder"])
    unet.load_state_dict(ck["unet"])
    if use_ema:
        params = list(text_encoder.parameters()) + list(unet.parameters())
        with torch.no_grad():
            for p, e in zip(params, ck["ema"]):
                p.copy_(e)
    return text_encoder, unet, ck["step"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=13000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--t-focus", type=float, default=0.5, help="share of the batch with t drawn from [50, 500)")
    ap.add_argument("--uncond-prob", type=float, default=0.1)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work-dir", default="/tmp/tiny-shapes-train")
    ap.add_argument("--skip-train", action="store_true", help="only export and evaluate the checkpoint")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    if not args.skip_train:
        train(args)
    import export  # noqa: E402

    export.run(args, load_trained, Captions())


if __name__ == "__main__":
    main()
