"""Plain-PyTorch twins of diffusers' UNet2DConditionModel and transformers' CLIPTextModel.

Module attribute names mirror the reference libraries so that `state_dict()` yields exactly the
key names of published checkpoints (`down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k`,
`text_model.encoder.layers.0.self_attn.q_proj`, ...). Only the features the tiny model uses are
implemented: SD 1.x-style blocks (conv proj_in/proj_out, GEGLU feed-forward), positional time
embedding with flip_sin_to_cos, one transformer layer per attention block.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- CLIP text model (transformers)

class CLIPEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.position_embedding = nn.Embedding(cfg["max_position_embeddings"], cfg["hidden_size"])

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        return self.token_embedding(input_ids) + self.position_embedding(pos)[None]


class CLIPAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.q_proj = nn.Linear(h, h)
        self.k_proj = nn.Linear(h, h)
        self.v_proj = nn.Linear(h, h)
        self.out_proj = nn.Linear(h, h)

    def forward(self, x, mask):
        b, n, c = x.shape
        d = c // self.heads
        q = self.q_proj(x).view(b, n, self.heads, d).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.heads, d).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.heads, d).transpose(1, 2)
        w = (q @ k.transpose(-1, -2)) * d ** -0.5 + mask
        o = w.softmax(-1) @ v
        return self.out_proj(o.transpose(1, 2).reshape(b, n, c))


class CLIPMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.act = cfg["hidden_act"]
        self.fc1 = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])
        self.fc2 = nn.Linear(cfg["intermediate_size"], cfg["hidden_size"])

    def forward(self, x):
        x = self.fc1(x)
        x = x * torch.sigmoid(1.702 * x) if self.act == "quick_gelu" else F.gelu(x)
        return self.fc2(x)


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["layer_norm_eps"]
        self.self_attn = CLIPAttention(cfg)
        self.layer_norm1 = nn.LayerNorm(cfg["hidden_size"], eps=eps)
        self.mlp = CLIPMLP(cfg)
        self.layer_norm2 = nn.LayerNorm(cfg["hidden_size"], eps=eps)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))


class CLIPTextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embeddings = CLIPEmbeddings(cfg)
        self.encoder = CLIPEncoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, input_ids):
        x = self.embeddings(input_ids)
        n = input_ids.shape[1]
        # transformers fills the masked scores with the dtype's minimum, not -inf.
        mask = torch.full((n, n), torch.finfo(x.dtype).min, dtype=x.dtype, device=x.device).triu(1)
        for layer in self.encoder.layers:
            x = layer(x, mask)
        x = self.final_layer_norm(x)
        if self.cfg["eos_token_id"] == 2:
            pos = input_ids.argmax(-1)
        else:
            pos = (input_ids == self.cfg["eos_token_id"]).int().argmax(-1)
        pooled = x[torch.arange(x.shape[0], device=x.device), pos]
        return x, pooled


class CLIPTextModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.text_model = CLIPTextTransformer(cfg)
        std = cfg["initializer_range"]
        nn.init.normal_(self.text_model.embeddings.token_embedding.weight, std=std)
        nn.init.normal_(self.text_model.embeddings.position_embedding.weight, std=std)

    def forward(self, input_ids):
        return self.text_model(input_ids)


# ---------------------------------------------------------------- UNet2DConditionModel (diffusers)

def timestep_embedding(t, dim, flip_sin_to_cos, freq_shift):
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - freq_shift)
    emb = t[:, None].float() * torch.exp(exponent)[None]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], -1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], -1)
    return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.linear_1 = nn.Linear(cin, cout)
        self.linear_2 = nn.Linear(cout, cout)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])

    def forward(self, x, ctx):
        b, n, c = x.shape
        d = c // self.heads
        q = self.to_q(x).view(b, n, self.heads, d).transpose(1, 2)
        k = self.to_k(ctx).view(b, ctx.shape[1], self.heads, d).transpose(1, 2)
        v = self.to_v(ctx).view(b, ctx.shape[1], self.heads, d).transpose(1, 2)
        o = ((q @ k.transpose(-1, -2)) * d ** -0.5).softmax(-1) @ v
        return self.to_out[0](o.transpose(1, 2).reshape(b, n, c))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim)])

    def forward(self, x):
        return self.net[2](self.net[0](x))


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, ctx_dim, heads)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim)

    def forward(self, x, ctx):
        h = self.norm1(x)
        x = x + self.attn1(h, h)
        x = x + self.attn2(self.norm2(x), ctx)
        return x + self.ff(self.norm3(x))


class Transformer2DModel(nn.Module):
    def __init__(self, dim, ctx_dim, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, dim, eps=1e-6)
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(dim, ctx_dim, heads)])
        self.proj_out = nn.Conv2d(dim, dim, 1)

    def forward(self, x, ctx):
        b, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x))
        h = h.permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        for blk in self.transformer_blocks:
            h = blk(h, ctx)
        h = h.reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        return self.proj_out(h) + x


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    """CrossAttnDownBlock2D when `heads` is given, else DownBlock2D."""

    def __init__(self, cin, cout, temb, layers, groups, eps, heads, ctx_dim, downsample):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if j == 0 else cout, cout, temb, groups, eps) for j in range(layers))
        self.attentions = nn.ModuleList(Transformer2DModel(cout, ctx_dim, heads, groups) for _ in range(layers)) if heads else None
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if downsample else None

    def forward(self, x, temb, ctx):
        skips = []
        for j, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = self.attentions[j](x, ctx)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    """CrossAttnUpBlock2D when `heads` is given, else UpBlock2D."""

    def __init__(self, cin, prev, cout, temb, layers, groups, eps, heads, ctx_dim, upsample):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D((prev if j == 0 else cout) + (cin if j == layers - 1 else cout), cout, temb, groups, eps)
            for j in range(layers)
        )
        self.attentions = nn.ModuleList(Transformer2DModel(cout, ctx_dim, heads, groups) for _ in range(layers)) if heads else None
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if upsample else None

    def forward(self, x, skips, temb, ctx):
        for j, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips.pop()], 1), temb)
            if self.attentions is not None:
                x = self.attentions[j](x, ctx)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, c, temb, groups, eps, heads, ctx_dim):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb, groups, eps), ResnetBlock2D(c, c, temb, groups, eps)])
        self.attentions = nn.ModuleList([Transformer2DModel(c, ctx_dim, heads, groups)])

    def forward(self, x, temb, ctx):
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, ctx)
        return self.resnets[1](x, temb)


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch = cfg["block_out_channels"]
        n = len(ch)
        groups, eps, ctx = cfg["norm_num_groups"], cfg["norm_eps"], cfg["cross_attention_dim"]
        heads = cfg["attention_head_dim"]
        heads = heads if isinstance(heads, list) else [heads] * n
        layers = cfg["layers_per_block"]
        temb = ch[0] * 4
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList()
        for i, kind in enumerate(cfg["down_block_types"]):
            self.down_blocks.append(DownBlock(
                ch[i - 1] if i > 0 else ch[0], ch[i], temb, layers, groups, eps,
                heads[i] if kind == "CrossAttnDownBlock2D" else None, ctx, i < n - 1))
        self.mid_block = UNetMidBlock2DCrossAttn(ch[-1], temb, groups, eps, heads[-1], ctx)
        rev, rheads = ch[::-1], heads[::-1]
        self.up_blocks = nn.ModuleList()
        for i, kind in enumerate(cfg["up_block_types"]):
            self.up_blocks.append(UpBlock(
                rev[min(i + 1, n - 1)], rev[i - 1] if i > 0 else rev[0], rev[i], temb, layers + 1, groups, eps,
                rheads[i] if kind == "CrossAttnUpBlock2D" else None, ctx, i < n - 1))
        self.conv_norm_out = nn.GroupNorm(groups, ch[0], eps=eps)
        self.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        t = timestep.expand(sample.shape[0]) if timestep.numel() == 1 else timestep
        t_emb = timestep_embedding(t, self.cfg["block_out_channels"][0], self.cfg["flip_sin_to_cos"], self.cfg["freq_shift"])
        temb = self.time_embedding(t_emb.to(sample.dtype))
        x = self.conv_in(sample)
        skips = [x]
        for block in self.down_blocks:
            x, s = block(x, temb, encoder_hidden_states)
            skips += s
        x = self.mid_block(x, temb, encoder_hidden_states)
        for block in self.up_blocks:
            x = block(x, skips, temb, encoder_hidden_states)
        return self.conv_out(F.silu(self.conv_norm_out(x)))
