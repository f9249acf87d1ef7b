"""Autoregressive models: a fully visible belief net over pixels and a character language model.

Both follow the slide "Fully Visible BN": the chain rule gives an exact, tractable likelihood

    p_model(x) = p_model(x_1) prod_{i=2}^n p_model(x_i | x_1, ..., x_{i-1}),

at the price of O(n) sequential generation and no latent code to control the output.
`PixelAR` is MADE (Germain et al. 2015): masked linear layers make output i depend on pixels < i
only, so one network call scores an image and n calls generate one. `CharLM` is the slides'
language model at character level: a causal MLP over a fixed window (Bengio et al. 2003), scoring
P(NASA will take me to Moon) as a product of next-character probabilities.

A little over 300 lines: the two models are one family (the FVBN) sharing the sampling helpers.
"""

from __future__ import annotations

import math
import re
from importlib import resources
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .vae import check_images

__all__ = ["PixelAR", "MaskedLinear", "CharLM", "Term", "binarize", "load_corpus"]


def binarize(x: Tensor, threshold: float = 0.0) -> Tensor:
    """Images in [-1, 1] -> float pixels in {0, 1}: 1 where x > threshold."""
    return (x > threshold).to(x.dtype if x.is_floating_point() else torch.float32)


def load_corpus() -> str:
    """The small English corpus shipped in the package (one sentence per line, plain ASCII)."""
    return (resources.files("eep596gan") / "assets" / "corpus.txt").read_text(encoding="ascii")


def _uniform(shape, device, generator: torch.Generator | None) -> Tensor:
    """U(0, 1) draws from `generator` (on its own device), moved to `device`."""
    where = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=where).to(device)


# ---------------------------------------------------------------------------------- pixels
class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (out_features, in_features)."""

    def __init__(self, mask: Tensor, bias: bool = True):
        super().__init__(mask.shape[1], mask.shape[0], bias=bias)
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class PixelAR(nn.Module):
    """MADE over binarized pixels in raster order: logit i = f(x_1, ..., x_{i-1}).

    Hidden unit k gets degree m(k) in 1..n-1 (cycled, no randomness); a weight from unit j to k is
    kept when m(k) >= m(j), and unit k reaches output i when i > m(k). A masked direct connection
    (input j -> output i for j < i) adds a logistic FVBN on top.

    Args:
        in_shape: image shape (C, H, W); pixels are ordered by flattening it.
        hidden: widths of the masked hidden layers.
    """

    binarize = staticmethod(binarize)

    def __init__(self, in_shape=(1, 8, 8), hidden=(256, 256)):
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)
        if not self.in_shape or any(s <= 0 for s in self.in_shape):
            raise ValueError(f"in_shape must be positive ints, e.g. (1, 8, 8); got {in_shape}")
        n = math.prod(self.in_shape)
        degrees = [torch.arange(1, n + 1)]  # input i has degree i
        for h in hidden:
            degrees.append(torch.arange(int(h)) % max(n - 1, 1) + 1)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(degrees[:-1], degrees[1:])):
            if i > 0:
                layers.append(nn.ReLU())
            layers.append(MaskedLinear(d_out[:, None] >= d_in[None, :]))
        if len(degrees) > 1:
            layers.append(nn.ReLU())
        out = torch.arange(1, n + 1)
        layers.append(MaskedLinear(out[:, None] > degrees[-1][None, :]))
        self.net = nn.Sequential(*layers)
        self.direct = MaskedLinear(out[:, None] > degrees[0][None, :], bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Logits of p(x_i = 1 | x_<i) for every pixel at once, shape (m, *in_shape)."""
        h = x.flatten(1)  # (m, n)
        return (self.net(h) + self.direct(h)).view(x.shape)

    def nll(self, x: Tensor) -> Tensor:
        """-log p(x) in nats per image, shape (m,), without input checks (trainers check once)."""
        return F.binary_cross_entropy_with_logits(self(x), x, reduction="none").flatten(1).sum(1)

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-likelihood log p(x) = sum_i log p(x_i | x_<i).

        Args:
            x: binary pixels in {0, 1}, float, shape (m, *in_shape); see `binarize`.
        Returns:
            log p(x) in nats, shape (m,).
        """
        self.check_input(x)
        return -self.nll(x)

    def check_input(self, x: Tensor) -> None:
        """Refuse a batch of the wrong shape or device, or with pixels other than 0 and 1."""
        check_images(x, self.in_shape, self)
        if not ((x == 0) | (x == 1)).all():
            raise ValueError(
                "PixelAR models binary pixels: x must hold only 0 and 1; "
                "binarize images in [-1, 1] with eep596gan.models.binarize(x)"
            )

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               progress: bool = False) -> Tensor:
        """Draw n images pixel by pixel: one network call per pixel (O(n_pixels) sequential steps).

        Returns:
            binary pixels (n, *in_shape), float.
        """
        p = next(self.parameters())
        blank = torch.zeros(int(n), *self.in_shape, device=p.device, dtype=p.dtype)
        return self.complete(blank, 0, generator, progress)

    @torch.no_grad()
    def complete(self, x: Tensor, n_observed: int, generator: torch.Generator | None = None,
                 progress: bool = False) -> Tensor:
        """Keep the first `n_observed` pixels of x (raster order) and sample the rest.

        Each missing pixel i is drawn from p(x_i | x_<i), one network call per pixel: the only
        control an FVBN offers is the pixels already drawn (slide "Fully Visible BN").

        Args:
            x: binary images (m, *in_shape) in {0, 1}; only their first n_observed pixels are read.
            n_observed: how many pixels, in raster order, are given (0 to n_pixels).
            generator: optional torch.Generator for the draws.
        Returns:
            binary images (m, *in_shape): x's first n_observed pixels, then the model's.
        """
        self.check_input(x)
        d = math.prod(self.in_shape)
        if not 0 <= int(n_observed) <= d:
            raise ValueError(f"n_observed must lie in [0, {d}] (the number of pixels); "
                             f"got {n_observed}")
        out = x.flatten(1).clone()  # (m, d), filled left to right
        out[:, int(n_observed):] = 0  # not drawn yet; MADE never reads them for earlier pixels
        for i in tqdm(range(int(n_observed), d), desc="pixels", disable=not progress):
            logit_i = self(out.view(-1, *self.in_shape)).flatten(1)[:, i]  # depends on out[:, :i]
            draw = _uniform(out.shape[0], out.device, generator) < torch.sigmoid(logit_i)
            out[:, i] = draw.to(out.dtype)
        return out.view_as(x)


# ---------------------------------------------------------------------------------- text
class Term(NamedTuple):
    """One factor of the chain rule: log P(term | context)."""

    term: str
    context: str
    log_prob: float


DEFAULT_VOCAB = "".join(chr(c) for c in range(32, 127))  # printable ASCII, space to '~'


class CharLM(nn.Module):
    """A causal MLP over the last `context` characters (Bengio et al. 2003) predicting the next one.

    Token `bos` (= len(vocab)) begins every text and is written as a newline: a newline ends one
    text and begins the next, and the model forgets everything before it.

    Args:
        vocab: the characters it can read and write (a string; newline excluded). Default:
            printable ASCII.
        context: how many previous characters the model sees.
        embed: size of each character's embedding.
        hidden: width of the two hidden layers.
    """

    def __init__(self, vocab: str | None = None, context: int = 32, embed: int = 16,
                 hidden: int = 256):
        super().__init__()
        chars = list(dict.fromkeys(DEFAULT_VOCAB if vocab is None else vocab))
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("vocab must be a non-empty string of characters, "
                             "e.g. ''.join(sorted(set(text)))")
        self.vocab = "".join(c for c in chars if c != "\n")
        self.stoi = {c: i for i, c in enumerate(self.vocab)}
        self.bos, self.context = len(self.vocab), int(context)
        if self.context < 1:
            raise ValueError(f"context must be a positive int; got {context}")
        self.embedding = nn.Embedding(self.bos + 1, embed)
        self.net = nn.Sequential(
            nn.Linear(self.context * embed, hidden), nn.Tanh(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, self.bos + 1),
        )

    def encode(self, text: str) -> Tensor:
        """Text -> int64 ids (len(text),); newline -> `bos`. Unknown characters raise ValueError."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            ids = [self.bos if c == "\n" else self.stoi[c] for c in text]
        except KeyError as err:
            c = err.args[0]
            raise ValueError(
                f"character {c!r} (U+{ord(c):04X}) at position {text.index(c)} is not in the "
                f"vocabulary of {len(self.vocab)} characters ({self.vocab[:20]!r}...). Replace it, "
                "or build the model with every character you need: "
                "CharLM(vocab=''.join(sorted(set(text))))"
            ) from None
        return torch.tensor(ids, dtype=torch.int64)

    def decode(self, ids) -> str:
        """int ids -> text; `bos` becomes a newline."""
        ids = torch.as_tensor(ids).flatten().tolist()
        bad = [i for i in ids if not 0 <= i <= self.bos]
        if bad:
            raise ValueError(f"ids must lie in [0, {self.bos}]; got {bad[:5]}")
        return "".join("\n" if i == self.bos else self.vocab[i] for i in ids)

    def forward(self, ctx: Tensor) -> Tensor:
        """Next-character logits from contexts (m, context) of ids, shape (m, len(vocab) + 1)."""
        if ctx.dim() != 2 or ctx.shape[1] != self.context:
            raise ValueError(f"ctx must be ids of shape (m, {self.context}); "
                             f"got {tuple(ctx.shape)}")
        # Everything up to the last bos in the window belongs to an earlier text: blank it out.
        before_bos = (ctx == self.bos).flip(1).cumsum(1).flip(1) > 0  # (m, context)
        ctx = ctx.masked_fill(before_bos, self.bos)
        return self.net(self.embedding(ctx).flatten(1))  # (m, vocab + 1)

    def nll(self, windows: Tensor) -> Tensor:
        """-log p(last id | the `context` ids before it) for windows (m, context + 1):
        shape (m,).
        """
        return F.cross_entropy(self(windows[:, :-1]), windows[:, -1], reduction="none")

    def windows(self, ids: Tensor) -> Tensor:
        """Every (context, next id) window of a text that starts after a bos:
        (len(ids), context + 1).
        """
        pad = torch.full((self.context + (len(ids) == 0),), self.bos, dtype=torch.int64,
                         device=ids.device)
        return torch.cat([pad, ids]).unfold(0, self.context + 1, 1)[: len(ids)]

    def char_log_probs(self, text: str) -> Tensor:
        """log p(c_i | bos, c_1, ..., c_{i-1}) for each character, shape (len(text),)."""
        device = self.embedding.weight.device
        return -self.nll(self.windows(self.encode(text).to(device)))

    def log_prob(self, text: str) -> Tensor:
        """log P(text) = sum_i log p(c_i | c_<i), starting from the begin-of-text token
        (a scalar, nats).
        """
        return self.char_log_probs(text).sum()

    @torch.no_grad()
    def term_log_probs(self, text: str, unit: str = "word") -> list[Term]:
        """The chain rule's factors: [Term(term, context, log P(term | context)), ...].

        Args:
            text: the text to score.
            unit: "word" (a word's log-prob sums its characters' and the whitespace after it) or
                "char".
        Returns:
            one Term per word or character; their log_probs add up to log_prob(text).
        """
        if unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char'; got {unit!r}")
        lp = self.char_log_probs(text).double().cpu()
        pieces = list(text) if unit == "char" else re.findall(r"\S+\s*|\s+", text)
        terms, start = [], 0
        for piece in pieces:
            end = start + len(piece)
            shown = piece if unit == "char" else piece.strip() or piece
            terms.append(Term(shown, text[:start].strip(), lp[start:end].sum().item()))
            start = end
        return terms

    @torch.no_grad()
    def sample(self, n_chars: int, prompt: str = "", temperature: float = 1.0,
               generator: torch.Generator | None = None) -> str:
        """Continue `prompt` by n_chars characters, one network call each; returns prompt + them.

        A sampled begin-of-text token shows as a newline (the sentence ended; a new one starts).
        Small temperatures sharpen the distribution (-> greedy), large ones flatten it.
        """
        if not temperature > 0:
            raise ValueError("temperature must be positive (1.0 samples the model); "
                             f"got {temperature}")
        device = self.embedding.weight.device
        ids = torch.cat([torch.full((self.context,), self.bos), self.encode(prompt)]).to(device)
        out = []
        for _ in range(int(n_chars)):
            probs = torch.softmax(self(ids[None, -self.context:]).double() / temperature, dim=1)[0]
            u = _uniform((), device, generator).double()
            nxt = (torch.searchsorted(probs.cumsum(0), u[None], right=True)  # inverse CDF
                   .clamp_max(self.bos))
            ids = torch.cat([ids, nxt])
            out.append(int(nxt))
        return prompt + self.decode(out)
