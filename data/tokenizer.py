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

from data.common import DataError, atomic_write, load_meta, show

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
    check_vocab_size(vocab_size, special_tokens)
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


def load_tokenizer(data_dir):
    """The tokenizer a dataset was prepared with: .encode(text), .decode(ids), .vocab_size, .token_bytes."""
    data_dir = Path(data_dir)
    meta = load_meta(data_dir)
    kind = meta['tokenizer']
    if kind == 'char':
        return CharTokenizer(meta['chars'])
    if kind == 'bpe':
        return BPETokenizer(load_bpe(data_dir / meta['tokenizer_file']))
    if kind == 'gpt2':
        return BPETokenizer(gpt2_encoding())
    raise DataError(f"{show(data_dir / 'meta.json')}: unknown tokenizer '{kind}': run python data/{data_dir.name}/prepare.py")


# -----------------------------------------------------------------------------
# GPT-2, from the local tiktoken cache only

# tiktoken's gpt2 files and their sha256 (from tiktoken_ext/openai_public.py)
GPT2_FILES = {
    'https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe':
        '1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5',
    'https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json':
        '196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783',
}


def tiktoken_cache_dir():
    # the same rule as tiktoken.load.read_file_cached
    for var in ('TIKTOKEN_CACHE_DIR', 'DATA_GYM_CACHE_DIR'):
        if var in os.environ:
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / 'data-gym-cache'


def gpt2_encoding():
    """tiktoken's gpt2, only if both of its files are in tiktoken's cache with the right checksums.
    Checked here first because tiktoken goes to the network for a missing or corrupt cache entry."""
    cache = tiktoken_cache_dir()
    for url, sha in GPT2_FILES.items():
        path = cache / hashlib.sha1(url.encode()).hexdigest()
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            raise DataError(f"tiktoken's gpt2 encoding is not in the local cache ({cache}): use the trained BPE "
                            f'instead (--tokenizer=bpe), or run tiktoken.get_encoding("gpt2") once while online')
    import tiktoken
    return tiktoken.get_encoding('gpt2')


# -----------------------------------------------------------------------------
# helpers for prepare.py scripts

def check_vocab_size(vocab_size, special_tokens=SPECIAL_TOKENS):
    """Call before touching any file: a typo must not cost an existing dataset."""
    if vocab_size < 256 + len(special_tokens):
        raise DataError(f'--vocab_size={vocab_size} is too small: a byte-level BPE needs at least '
                        f'{256 + len(special_tokens)} (256 bytes + {", ".join(special_tokens)})')
    if vocab_size > 2 ** 31:
        raise DataError(f'--vocab_size={vocab_size} is too large (at most 2**31)')


def make_tokenizer(kind, texts, vocab_size, out_dir):
    """Train (bpe) or fetch from cache (gpt2) a tokenizer for a dataset in out_dir.
    Returns (tiktoken.Encoding, meta fields describing it)."""
    import time
    if kind == 'gpt2':
        enc = gpt2_encoding()
        return enc, {'tokenizer': 'gpt2', 'vocab_size': enc.n_vocab}
    if kind != 'bpe':
        raise DataError(f"--tokenizer={kind} is unknown: use 'bpe' or 'gpt2'")
    check_vocab_size(vocab_size)
    t0 = time.time()
    enc = train_bpe(texts, vocab_size)
    info = save_bpe(enc, Path(out_dir) / 'tokenizer.tiktoken')
    note = '' if enc.n_vocab == vocab_size else f' (asked for {vocab_size}: the text allows no more merges)'
    print(f'trained a BPE with vocab {enc.n_vocab}{note} in {time.time() - t0:.1f}s')
    return enc, {'tokenizer': 'bpe', 'vocab_size': enc.n_vocab, 'tokenizer_file': 'tokenizer.tiktoken',
                 'pattern': info['pattern'], 'special_tokens': info['special_tokens']}


def encode_docs(enc, docs, eot=True, num_threads=8):
    """Token ids of documents, each followed by <|endoftext|> when eot, as one int array.
    Text that happens to contain '<|endoftext|>' is encoded as ordinary text, never as the separator."""
    ids = enc.encode_ordinary_batch(list(docs), num_threads=num_threads)
    sep = [enc.eot_token] if eot else []
    if not ids:
        return np.zeros(0, dtype=np.uint32)
    return np.concatenate([np.array(doc + sep, dtype=np.uint32) for doc in ids])
