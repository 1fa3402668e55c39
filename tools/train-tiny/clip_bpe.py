"""CLIP's byte-level BPE, enough for the training captions (lower-case ASCII words and
punctuation), read from the Hugging Face `vocab.json` / `merges.txt` files."""
import json
import re

BOS, EOS, LENGTH = 49406, 49407, 77


def _byte_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ClipBPE:
    def __init__(self, vocab_path, merges_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(merges_path, encoding="utf-8") as f:
            lines = f.read().split("\n")[1:]
        self.ranks = {tuple(line.split()): i for i, line in enumerate(lines) if line}
        self.byte_unicode = _byte_unicode()
        self.cache = {}

    def _bpe(self, piece):
        word = [self.byte_unicode[b] for b in piece.encode("utf-8")]
        word[-1] += "</w>"
        while len(word) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
            rank, _ = min(pairs)
            if rank == 1 << 30:
                break
            pair = [p for p in zip(word, word[1:]) if self.ranks.get(p) == rank][0]
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == pair:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return [self.vocab[w] for w in word]

    def ids(self, text):
        text = re.sub(r"\s+", " ", text).strip().lower()
        out = []
        for piece in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+", text):
            if piece not in self.cache:
                self.cache[piece] = self._bpe(piece)
            out += self.cache[piece]
        return out

    def input_ids(self, text, pad=EOS):
        """SD 1.x padding: `[BOS] + ids[:75] + [EOS]`, padded to 77 with `pad`."""
        ids = [BOS] + self.ids(text)[: LENGTH - 2] + [EOS]
        return ids + [pad] * (LENGTH - len(ids))
