"""The DDIM noise schedule and sampler, as diffusers' DDIMScheduler computes them (float32)."""
import torch


def alphas_cumprod(cfg):
    n = cfg["num_train_timesteps"]
    assert cfg["beta_schedule"] == "linear"
    betas = torch.linspace(cfg["beta_start"], cfg["beta_end"], n, dtype=torch.float32)
    if cfg["rescale_betas_zero_snr"]:
        bar_sqrt = torch.cumprod(1.0 - betas, dim=0).sqrt()
        first, last = bar_sqrt[0].clone(), bar_sqrt[-1].clone()
        bar_sqrt -= last
        bar_sqrt *= first / (first - last)
        bar = bar_sqrt ** 2
        alphas = torch.cat([bar[0:1], bar[1:] / bar[:-1]])
        betas = 1 - alphas
    return torch.cumprod(1.0 - betas, dim=0)


def trailing_timesteps(cfg, steps):
    n = cfg["num_train_timesteps"]
    return (torch.arange(n, 0, -n / steps).round() - 1).long()


@torch.no_grad()
def ddim_sample(unet, cond, uncond, noise, cfg, steps, guidance):
    """Deterministic DDIM (eta 0) with classifier-free guidance and v-prediction, x0 clipped when
    the config says so, as diffusers' DDIMScheduler.step with this config."""
    ac = alphas_cumprod(cfg)
    final = torch.tensor(1.0) if cfg["set_alpha_to_one"] else ac[0]
    n = cfg["num_train_timesteps"]
    x = noise
    ctx = torch.cat([uncond, cond])
    for t in trailing_timesteps(cfg, steps).tolist():
        out = unet(torch.cat([x, x]), torch.tensor([float(t)]), ctx)
        u, c = out.chunk(2)
        v = u + guidance * (c - u)
        prev = t - n // steps
        a = ac[t]
        a_prev = ac[prev] if prev >= 0 else final
        b = 1 - a
        x0 = a.sqrt() * x - b.sqrt() * v
        if cfg["clip_sample"]:
            x0 = x0.clamp(-cfg["clip_sample_range"], cfg["clip_sample_range"])
        eps = a.sqrt() * v + b.sqrt() * x
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return x
