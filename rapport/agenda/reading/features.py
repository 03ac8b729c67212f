"""What the learned layer sees of a sentence: hashed character and word n-grams, the rule
layer's own reading, and (as an alternative measured in the docs) static word embeddings.

Hashing keeps the model free of a vocabulary file: an n-gram's column is the CRC-32 of its
text, which is the same on every machine and every run (Python's ``hash`` is not).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

import numpy as np

from rapport.agenda.reading import rules
from rapport.agenda.reading.kinds import TEXT_KINDS

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "`": "'"})
_DIGITS = re.compile(r"\d")
_TOKEN = re.compile(r"[a-z0']+|[^\sa-z0']")
_SPACES = re.compile(r"\s+")

CHAR_NGRAMS = (2, 5)  # inclusive range, within word boundaries (like scikit-learn's char_wb)
# Across word boundaries too: "n't be", "no one", "again." carry complaint and sarcasm cues
# that single words do not (grouped CV: +0.01 mean average precision, +0.02 on complaints).
CROSS_NGRAMS = (3, 6)
WORD_NGRAMS = (1, 2)
# Stored with the weights: a model is only read with the features it was trained on.
FEATURES_SPEC = {"char_wb": CHAR_NGRAMS, "char": CROSS_NGRAMS, "word": WORD_NGRAMS}


def normalise(text: str) -> str:
    """Lower case, straight quotes, every digit a 0 (amounts and dates carry no kind)."""
    return _SPACES.sub(" ", _DIGITS.sub("0", text.translate(_APOSTROPHES).lower())).strip()


def _char_ngrams(token: str) -> list[str]:
    padded = f" {token} "
    low, high = CHAR_NGRAMS
    grams: list[str] = []
    for n in range(low, min(high, len(padded)) + 1):
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def ngrams(text: str) -> list[str]:
    """Character n-grams of each padded word, character n-grams across the whole sentence,
    then word n-grams (the latter two prefixed so they never share a string)."""
    normalised = normalise(text)
    tokens = _TOKEN.findall(normalised)
    grams = [gram for token in tokens for gram in _char_ngrams(token)]
    grams.extend(_cross_ngrams(normalised))
    low, high = WORD_NGRAMS
    for n in range(low, high + 1):
        grams.extend("w:" + " ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def _cross_ngrams(normalised: str) -> list[str]:
    padded = f" {normalised} "
    low, high = CROSS_NGRAMS
    return [
        "x:" + padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)
    ]


def _column(gram: str, n_features: int) -> int:
    return zlib.crc32(gram.encode()) % n_features


@lru_cache(maxsize=50_000)
def _token_columns(token: str, n_features: int) -> tuple[int, ...]:
    # Words repeat across notes; their character n-grams are hashed once per process.
    return tuple(_column(gram, n_features) for gram in _char_ngrams(token))


def hashed(text: str, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of a sentence's n-gram vector: 1 + log(count), unit length.
    The same columns as hashing every string of ``ngrams(text)``."""
    normalised = normalise(text)
    tokens = _TOKEN.findall(normalised)
    columns_of: list[int] = []
    for token in tokens:
        columns_of.extend(_token_columns(token, n_features))
    columns_of.extend(_column(gram, n_features) for gram in _cross_ngrams(normalised))
    low, high = WORD_NGRAMS
    for n in range(low, high + 1):
        columns_of.extend(
            _column("w:" + " ".join(tokens[i : i + n]), n_features)
            for i in range(len(tokens) - n + 1)
        )
    if not columns_of:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    columns, counts = np.unique(np.asarray(columns_of, dtype=np.int64), return_counts=True)
    values = (1.0 + np.log(counts)).astype(np.float32)
    values /= np.linalg.norm(values)
    return columns, values


# --- what the rules read, as features ---------------------------------------------------------

RULE_FEATURES: tuple[str, ...] = (
    *(f"rule:{kind}" for kind in TEXT_KINDS),
    "question",
    "conditional",
    "condition",
    "hedged",
    "vader_positive",
    "vader_negative",
    "clause_negative",
)


def rule_vector(text: str) -> np.ndarray:
    """The rule layer's reading of a text as numbers: which kinds it found (any sentence),
    its question/condition/hedge flags, and VADER's tone of the whole and of the worst clause."""
    sentences = rules.split_sentences(text[: rules.MAX_INPUT_CHARS])
    return rule_vector_of(sentences, [rules.sentence_kinds(s) for s in sentences])


def rule_vector_of(
    sentences: Sequence[rules.Sentence], kinds_found: Sequence[Iterable[str]]
) -> np.ndarray:
    """``rule_vector`` from sentences already split and read by the rules (no re-reading)."""
    vector = np.zeros(len(RULE_FEATURES), dtype=np.float32)
    if not sentences:
        return vector
    n_kinds = len(TEXT_KINDS)
    worst_clause = 0.0
    for sentence, kinds in zip(sentences, kinds_found, strict=True):
        for kind in kinds:
            vector[TEXT_KINDS.index(kind)] = 1.0
        vector[n_kinds] = max(vector[n_kinds], float(sentence.is_question))
        vector[n_kinds + 1] = max(vector[n_kinds + 1], float(sentence.is_conditional))
        vector[n_kinds + 2] = max(vector[n_kinds + 2], float(sentence.has_condition))
        vector[n_kinds + 3] = max(vector[n_kinds + 3], float(sentence.is_hedged))
        for begin, end in sentence.clauses:
            worst_clause = min(worst_clause, rules.compound(sentence.text[begin:end]))
    whole = rules.compound(" ".join(sentence.text for sentence in sentences))
    vector[n_kinds + 4] = max(whole, 0.0)
    vector[n_kinds + 5] = max(-whole, 0.0)
    vector[n_kinds + 6] = -worst_clause
    return vector


def design_matrix(texts: Sequence[str], n_features: int, *, with_rules: bool = True):
    """A CSR matrix of the n-gram vectors, with the rule features in the last columns."""
    from scipy import sparse

    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    extra = len(RULE_FEATURES) if with_rules else 0
    for text in texts:
        columns, values = hashed(text, n_features)
        if with_rules:
            columns = np.concatenate([columns, n_features + np.arange(extra)])
            values = np.concatenate([values, rule_vector(text)])
        indices.append(columns)
        data.append(values)
        indptr.append(indptr[-1] + len(columns))
    return sparse.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0, np.float32),
            np.concatenate(indices) if indices else np.zeros(0, np.int64),
            np.asarray(indptr),
        ),
        shape=(len(texts), n_features + extra),
        dtype=np.float32,
    )


# --- static embeddings (wordllama), measured as an alternative --------------------------------


@cache
def _wordllama() -> tuple[object, np.ndarray]:
    # wordllama's own loader looks for its tokenizer under tokenizer/ while its wheel ships it
    # under tokenizers/, and falls back to a download; reading both files from the installed
    # package by explicit path keeps this fully offline.
    from importlib.resources import files

    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = files("wordllama")
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    weights = load_file(str(root / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"]
    return tokenizer, weights.astype(np.float32)


def embeddings(texts: Sequence[str]) -> np.ndarray:
    """Mean of the token vectors of each text, unit length (wordllama's l2_supercat_256)."""
    tokenizer, weights = _wordllama()
    out = np.zeros((len(texts), weights.shape[1]), dtype=np.float32)
    for row, encoding in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        if encoding.ids:
            vector = weights[encoding.ids].mean(axis=0)
            out[row] = vector / (np.linalg.norm(vector) or 1.0)
    return out
