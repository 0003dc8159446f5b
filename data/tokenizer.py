"""
Tokenizers: character-level, a byte-level BPE trained with rustbpe and run by tiktoken (nanochat's
recipe), and GPT-2's tiktoken encoding when it is already in the local tiktoken cache.

A trained BPE is saved as two plain-text files, never a pickle:
  tokenizer.tiktoken  one line per mergeable token: base64(token bytes) + ' ' + rank  (tiktoken's format)
  tokenizer.json      {"name", "pattern", "special_tokens": {token: id}}
"""
import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from data.common import DataError, atomic_write, show

# GPT-4's split pattern with numbers split into groups of 1-2 digits instead of 1-3 (nanochat's choice:
# fewer number tokens wasted in a small vocabulary).
SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
EOT = '<|endoftext|>'  # document separator
SPECIAL_TOKENS = [EOT]


class CharTokenizer:
    """One token per character; ids follow the order of `chars`."""

    def __init__(self, chars):
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.vocab_size = len(chars)
        self.token_bytes = np.array([len(c.encode('utf-8')) for c in chars], dtype=np.int64)

    def encode(self, text):
        try:
            return [self.stoi[c] for c in text]
        except KeyError as e:
            raise DataError(f'character {e.args[0]!r} is not in this dataset\'s vocabulary') from None

    def decode(self, ids):
        return ''.join(self.chars[i] for i in ids)


class BPETokenizer:
    """A tiktoken.Encoding with the small surface train.py and sample.py use."""

    def __init__(self, enc):
        self.enc = enc
        self.vocab_size = enc.n_vocab
        self.eot = enc._special_tokens.get(EOT)
        self.token_bytes = token_bytes(enc)

    def encode(self, text):
        # special tokens written in the text (e.g. '<|endoftext|>' in a prompt) become their ids
        return self.enc.encode(text, allowed_special='all')

    def encode_ordinary(self, text):
        return self.enc.encode_ordinary(text)

    def decode(self, ids):
        return self.enc.decode(list(ids))


def token_bytes(enc):
    """UTF-8 bytes each id stands for, 0 for special tokens (the denominator of bits-per-byte).
    Uses decode_single_token_bytes: a decode to str would miscount partial UTF-8 sequences (nanochat#693)."""
    special = set(enc._special_tokens.values())
    return np.array([0 if i in special else len(enc.decode_single_token_bytes(i)) for i in range(enc.n_vocab)],
                    dtype=np.int64)

# -----------------------------------------------------------------------------
# training, saving, loading

def train_bpe(texts, vocab_size, pattern=SPLIT_PATTERN, special_tokens=SPECIAL_TOKENS, name='bpe'):
    """Train a byte-level BPE on an iterable of strings. vocab_size counts the 256 bytes, the merges
    and the special tokens; special tokens take the ids after the merges."""
    import rustbpe
    import tiktoken
    n_merges = vocab_size - 256 - len(special_tokens)
    if n_merges < 0:
        raise DataError(f'--vocab_size={vocab_size} is too small: a byte-level BPE needs at least '
                        f'{256 + len(special_tokens)} (256 bytes + {len(special_tokens)} special tokens)')
    if vocab_size > 2 ** 32:
        raise DataError(f'--vocab_size={vocab_size} is too large (at most 2**32)')
    rt = rustbpe.Tokenizer()
    rt.train_from_iterator(iter(texts), vocab_size - len(special_tokens), pattern=pattern)
    # rank = token id = merge order, which is what tiktoken needs (see nanochat's tokenizer.py)
    ranks = {bytes(b): r for b, r in rt.get_mergeable_ranks()}
    specials = {t: len(ranks) + i for i, t in enumerate(special_tokens)}
    return tiktoken.Encoding(name, pat_str=rt.get_pattern(), mergeable_ranks=ranks, special_tokens=specials)


def save_bpe(enc, path):
    """Write path (tiktoken rank file) and path.with_suffix('.json'); returns the JSON fields."""
    path = Path(path)
    ranks = sorted(enc._mergeable_ranks.items(), key=lambda kv: kv[1])
    lines = ''.join(f'{base64.b64encode(tok).decode()} {rank}\n' for tok, rank in ranks)
    atomic_write(path, lambda f: f.write(lines.encode()))
    info = {'name': enc.name, 'pattern': enc._pat_str, 'special_tokens': dict(enc._special_tokens)}
    atomic_write(path.with_suffix('.json'), lambda f: json.dump(info, f, indent=1), mode='w')
    return info


def load_bpe(path):
    """Inverse of save_bpe. Parses the rank file itself: tiktoken.load_tiktoken_bpe would also copy it
    into tiktoken's download cache."""
    import tiktoken
    path = Path(path)
    fix = 'run its prepare.py again'
    try:
        info = json.loads(path.with_suffix('.json').read_text(encoding='utf-8'))
        ranks = {}
        for line in path.read_bytes().splitlines():
            tok, rank = line.split()
            ranks[base64.b64decode(tok, validate=True)] = int(rank)
        return tiktoken.Encoding(info['name'], pat_str=info['pattern'], mergeable_ranks=ranks,
                                 special_tokens=info['special_tokens'])
    except FileNotFoundError as e:
        raise DataError(f'tokenizer file {show(e.filename)} not found: {fix}') from None
    except (ValueError, KeyError) as e:
        raise DataError(f'tokenizer file {show(path)} is corrupt ({type(e).__name__}: {e}): {fix}') from None

# -----------------------------------------------------------------------------
# GPT-2, from the local tiktoken cache only

GPT2_FILES = ['https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe',
              'https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json']


def tiktoken_cache_dir():
    # the same rule as tiktoken.load.read_file_cached
    for var in ('TIKTOKEN_CACHE_DIR', 'DATA_GYM_CACHE_DIR'):
        if var in os.environ:
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / 'data-gym-cache'


def gpt2_encoding():
    """tiktoken's gpt2, only if both of its files are already cached: never a network call."""
    cache = tiktoken_cache_dir()
    cached = all((cache / hashlib.sha1(url.encode()).hexdigest()).exists() for url in GPT2_FILES)
    if cached:
        import tiktoken
        try:
            return tiktoken.get_encoding('gpt2')
        except Exception:  # a corrupt cache entry makes tiktoken try the network; don't let it matter
            pass
    raise DataError(f"tiktoken's gpt2 encoding is not in the local cache ({cache}): "
                    f'use the trained BPE instead (--tokenizer=bpe), or load gpt2 once while online')
