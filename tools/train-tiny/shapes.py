"""The procedural data set: one shape in one colour on a background of another, with a caption;
and the analytic checker that judges generated images against their caption."""
import torch

COLORS = {
    "red": (230, 25, 25),
    "green": (30, 170, 40),
    "blue": (30, 60, 230),
    "yellow": (250, 225, 30),
    "orange": (250, 135, 0),
    "purple": (140, 40, 190),
    "white": (250, 250, 250),
    "black": (15, 15, 15),
}
COLOR_NAMES = list(COLORS)
SHAPES = ["circle", "square", "triangle"]
SIZES = {None: (9, 26), "small": (9, 13), "large": (19, 26)}
SIZE_WORDS = list(SIZES)
TEMPLATES = [
    "{a} {size}{fg} {shape} on {abg} {bg} background",
    "{a} {size}{fg} {shape} against {abg} {bg} background",
    "{size}{fg} {shape}, {bg} background",
]
IMAGE = 32
SUPERSAMPLE = 4
PALETTE = torch.tensor([COLORS[c] for c in COLOR_NAMES], dtype=torch.float32) / 127.5 - 1


def caption(fg, bg, shape, size_word, template):
    size = f"{size_word} " if size_word else ""
    return TEMPLATES[template].format(a=_article(size or fg), size=size, fg=fg, shape=shape, abg=_article(bg), bg=bg)


def _article(word):
    return "an" if word[0] in "aeiou" else "a"


def render(fg, bg, shape, side, cx, cy):
    """Anti-aliased images [B, 3, 32, 32] in [-1, 1]. All arguments are [B] tensors (indices or
    pixel units); the shape's bounding box is `side` wide, centred on (cx, cy)."""
    n = IMAGE * SUPERSAMPLE
    coords = (torch.arange(n, dtype=torch.float32) + 0.5) / SUPERSAMPLE
    y = coords[None, :, None]
    x = coords[None, None, :]
    cx, cy, half = cx[:, None, None], cy[:, None, None], (side / 2)[:, None, None]
    circle = (x - cx) ** 2 + (y - cy) ** 2 <= half ** 2
    square = ((x - cx).abs() <= half) & ((y - cy).abs() <= half)
    top = cy - half
    triangle = (y >= top) & (y <= cy + half) & ((x - cx).abs() <= (y - top) / 2)
    kind = shape[:, None, None]
    mask = torch.where(kind == 0, circle, torch.where(kind == 1, square, triangle)).float()
    cover = torch.nn.functional.avg_pool2d(mask[:, None], SUPERSAMPLE)
    fgc = PALETTE[fg][:, :, None, None]
    bgc = PALETTE[bg][:, :, None, None]
    return bgc + (fgc - bgc) * cover


def sample_specs(batch, gen):
    """Random (fg, bg, shape, size word, template, side, cx, cy) for a batch."""
    fg = torch.randint(0, len(COLOR_NAMES), (batch,), generator=gen)
    bg = (fg + torch.randint(1, len(COLOR_NAMES), (batch,), generator=gen)) % len(COLOR_NAMES)
    shape = torch.randint(0, len(SHAPES), (batch,), generator=gen)
    size_idx = torch.randint(0, len(SIZE_WORDS), (batch,), generator=gen)
    template = torch.randint(0, len(TEMPLATES), (batch,), generator=gen)
    lo = torch.tensor([SIZES[SIZE_WORDS[i]][0] for i in size_idx.tolist()], dtype=torch.float32)
    hi = torch.tensor([SIZES[SIZE_WORDS[i]][1] for i in size_idx.tolist()], dtype=torch.float32)
    side = lo + (hi - lo) * torch.rand(batch, generator=gen)
    margin = side / 2 + 1
    cx = margin + (IMAGE - 2 * margin) * torch.rand(batch, generator=gen)
    cy = margin + (IMAGE - 2 * margin) * torch.rand(batch, generator=gen)
    return fg, bg, shape, size_idx, template, side, cx, cy


def captions_of(fg, bg, shape, size_idx, template):
    return [
        caption(COLOR_NAMES[f], COLOR_NAMES[b], SHAPES[s], SIZE_WORDS[z], t)
        for f, b, s, z, t in zip(fg.tolist(), bg.tolist(), shape.tolist(), size_idx.tolist(), template.tolist())
    ]


def nearest_color(rgb):
    return int(((PALETTE - rgb[None]) ** 2).sum(-1).argmin())


def judge(image):
    """Reads (fg colour index, bg colour index, shape index, fill ratio) off one image [3, 32, 32]
    in [-1, 1]: the background from the border pixels, the shape from the pixels far from it, the
    kind from how much of its bounding box it fills (circle pi/4, square 1, triangle 1/2)."""
    img = image.clamp(-1, 1)
    border = torch.cat([img[:, 0, :], img[:, -1, :], img[:, :, 0], img[:, :, -1]], 1)
    bg_rgb = border.median(1).values
    bg = nearest_color(bg_rgb)
    dist = ((img - PALETTE[bg][:, None, None]) ** 2).sum(0).sqrt()
    mask = dist > 0.5
    if mask.sum() < 4:
        return -1, bg, -1, 0.0
    fg = nearest_color(img[:, mask].median(1).values)
    ys, xs = mask.nonzero(as_tuple=True)
    box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    fill = float(mask.sum()) / float(box)
    shape = 1 if fill > 0.89 else (0 if fill > 0.64 else 2)
    return fg, bg, shape, fill
