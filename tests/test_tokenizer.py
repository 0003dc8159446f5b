"""The BPE tokenizer: rustbpe training, tiktoken encoding, plain-text save/load, special tokens, and
gpt2 only from tiktoken's local cache. No network."""
import base64
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from data import tokenizer as T  # noqa: E402
from data.common import DataError  # noqa: E402
from data.pystdlib_char.prepare import read_sources  # noqa: E402

SAMPLES = [
    'def forward(self, x):\n    return self.proj(x) + 42\n',  # ASCII code
    'Café crème brûlée, naïve façade, Ærøskøbing, Zürich.',  # accented Latin
    '東京は日本の首都です。北京、서울, Москва.',  # CJK, Hangul, Cyrillic
    'emoji 🙂🚀👩‍💻 and flags 🇫🇷, math ∑∫√ and tabs\t\r\n',  # multi-codepoint emoji, control chars
]


@pytest.fixture(scope='module')
def corpus():
    """About 1 MB of the stdlib's train files."""
    root, train, val, skipped = read_sources()
    docs, size = [], 0
    for doc in train:
        docs.append(doc)
        size += len(doc)
        if size > 1_000_000:
            break
    return docs


@pytest.fixture(scope='module')
def enc(corpus):
    t0 = time.time()
    enc = T.train_bpe(corpus, 1024)
    print(f'\ntrained vocab 1024 on {sum(map(len, corpus)) / 1e6:.2f} MB in {time.time() - t0:.2f}s')
    return enc


def test_training_gives_the_vocab_asked_for(enc):
    assert enc.n_vocab == 1024
    ranks = enc._mergeable_ranks
    assert len(ranks) == 1023 and sorted(ranks.values()) == list(range(1023))
    assert all(ranks[bytes([b])] == b for b in range(256))  # the byte alphabet comes first
    assert enc._special_tokens == {T.EOT: 1023}


@pytest.mark.parametrize('text', SAMPLES)
def test_encode_decode_round_trip_is_exact(enc, text):
    ids = enc.encode_ordinary(text)
    assert enc.decode(ids) == text
    tok = T.BPETokenizer(enc)
    assert tok.decode(tok.encode(text)) == text
    # bits-per-byte needs every token's byte count to add up to the text's UTF-8 length
    assert int(tok.token_bytes[ids].sum()) == len(text.encode('utf-8'))


def test_special_token(enc):
    tok = T.BPETokenizer(enc)
    assert tok.eot == 1023 and tok.token_bytes[tok.eot] == 0
    ids = tok.encode('one story.<|endoftext|>another')
    assert ids.count(tok.eot) == 1 and tok.decode(ids) == 'one story.<|endoftext|>another'
    # data preparation never turns separator-looking text inside a document into the separator
    assert tok.eot not in tok.encode_ordinary('text with <|endoftext|> inside')
    assert T.encode_docs(enc, ['a b', 'c']).tolist() == enc.encode_ordinary('a b') + [1023] + enc.encode_ordinary('c') + [1023]


def test_save_load_round_trip_is_identical(enc, corpus, tmp_path):
    info = T.save_bpe(enc, tmp_path / 'tok.tiktoken')
    assert info['special_tokens'] == {T.EOT: 1023} and info['pattern'] == T.SPLIT_PATTERN
    lines = (tmp_path / 'tok.tiktoken').read_text().splitlines()
    assert len(lines) == 1023
    token, rank = lines[300].split()  # tiktoken's format: base64(token bytes) rank
    assert enc._mergeable_ranks[base64.b64decode(token)] == int(rank) == 300
    loaded = T.load_bpe(tmp_path / 'tok.tiktoken')
    assert loaded._mergeable_ranks == enc._mergeable_ranks
    assert loaded._special_tokens == enc._special_tokens and loaded._pat_str == enc._pat_str
    text = ''.join(corpus[:3]) + ''.join(SAMPLES)
    assert loaded.encode(text, allowed_special='all') == enc.encode(text, allowed_special='all')
    assert not any(p.suffix == '.pkl' for p in tmp_path.iterdir())


def test_corrupt_tokenizer_file_is_a_data_error(enc, tmp_path):
    T.save_bpe(enc, tmp_path / 'tok.tiktoken')
    (tmp_path / 'tok.tiktoken').write_text('not base64!! x\n')
    with pytest.raises(DataError, match='tok.tiktoken is corrupt'):
        T.load_bpe(tmp_path / 'tok.tiktoken')
    with pytest.raises(DataError, match='not found'):
        T.load_bpe(tmp_path / 'other.tiktoken')


def test_vocab_size_below_bytes_plus_specials_is_rejected():
    with pytest.raises(DataError, match='--vocab_size=100 is too small.*257'):
        T.train_bpe(['some text'], 100)


def test_tiny_corpus_stops_early_without_error():
    enc = T.train_bpe(['hello hello world'], 1000)
    assert 257 <= enc.n_vocab < 1000 and enc.decode(enc.encode_ordinary('hello world')) == 'hello world'


def test_char_tokenizer():
    tok = T.CharTokenizer('\n abé🙂')
    assert tok.decode(tok.encode('ab é🙂\n')) == 'ab é🙂\n'
    assert tok.token_bytes.tolist() == [1, 1, 1, 1, 2, 4]
    with pytest.raises(DataError, match="'z' is not in"):
        tok.encode('z')


def test_gpt2_only_from_the_local_cache(monkeypatch, tmp_path):
    import tiktoken
    import tiktoken.load

    def no_network(*args, **kwargs):
        raise AssertionError('tried the network')
    monkeypatch.setattr(tiktoken.load, 'read_file', no_network)
    monkeypatch.setenv('TIKTOKEN_CACHE_DIR', str(tmp_path))
    with pytest.raises(DataError, match=r"gpt2 encoding is not in the local cache .*--tokenizer=bpe"):
        T.gpt2_encoding()
    # a corrupt cache entry would make tiktoken download again: it is refused the same way
    import hashlib
    for url in T.GPT2_FILES:
        (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_text('corrupt')
    with pytest.raises(DataError, match='not in the local cache'):
        T.gpt2_encoding()


def test_token_bytes_uses_bytes_not_decoded_strings(enc):
    # some merged tokens are partial UTF-8 sequences: their str decode would be U+FFFD (3 bytes)
    tb = T.token_bytes(enc)
    assert tb.dtype == np.int64 and len(tb) == enc.n_vocab
    assert all(tb[i] == len(enc.decode_single_token_bytes(i)) for i in range(0, 1023, 7))
