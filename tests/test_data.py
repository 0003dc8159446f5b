"""Data preparation: the download helper against a local HTTP server, every prepare.py end to end on a
tiny corpus, and the one-line errors a user sees. No test touches the network."""
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from data.common import DataError, download, load_meta, load_tokenizer, sha256_file, write_dataset  # noqa: E402
from data.pystdlib_char import prepare as pystdlib_char  # noqa: E402


def run_script(*args, cwd=ROOT):
    """Run a prepare.py as a user would; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def read_tokens(data_dir, split):
    meta = load_meta(data_dir)
    return np.concatenate([np.fromfile(Path(data_dir) / f, dtype=meta['dtype']) for f in meta[split]])


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) >= 1 and lines[-1].startswith('error: '), proc.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]

# -----------------------------------------------------------------------------
# pystdlib_char: the embedded default


@pytest.fixture(scope='module')
def stdlib_char(tmp_path_factory):
    return pystdlib_char.prepare(tmp_path_factory.mktemp('pystdlib_char'))


def test_pystdlib_char_meta_and_round_trip(stdlib_char):
    meta = load_meta(stdlib_char)
    for key in ('vocab_size', 'dtype', 'tokenizer', 'chars', 'train', 'val', 'train_tokens', 'val_tokens', 'source'):
        assert key in meta
    assert meta['tokenizer'] == 'char' and meta['dtype'] == 'uint16'
    assert meta['vocab_size'] == len(meta['chars']) == len(set(meta['chars']))
    assert meta['train_tokens'] > 5 * meta['val_tokens'] > 0
    tok = load_tokenizer(stdlib_char)
    assert tok.vocab_size == meta['vocab_size'] and len(tok.token_bytes) == tok.vocab_size
    # the val split decodes to exactly the val files' text, in order
    root, train, val, skipped = pystdlib_char.read_sources()
    ids = read_tokens(stdlib_char, 'val')
    assert len(ids) == meta['val_tokens'] and tok.decode(ids) == ''.join(val)
    assert tok.encode(val[0][:1000]) == ids[:1000].tolist()
    assert int(tok.token_bytes[ids].sum()) == len(''.join(val).encode('utf-8'))


def test_pystdlib_char_excludes_tests_and_site_packages():
    root, files = pystdlib_char.stdlib_files()
    rels = [rel for rel, _ in files]
    assert rels == sorted(rels) and len(rels) > 100
    assert 'os.py' in rels and 'json/decoder.py' in rels
    for rel in rels:
        parts = rel.split('/')[:-1]
        assert not {'test', 'tests', 'idle_test', 'site-packages', 'dist-packages'} & set(parts), rel


def test_pystdlib_char_is_deterministic(stdlib_char, tmp_path):
    again = pystdlib_char.prepare(tmp_path)
    for name in ['meta.json', 'train.bin', 'val.bin']:
        assert (again / name).read_bytes() == (stdlib_char / name).read_bytes(), name


def test_pystdlib_char_cli_help():
    proc = run_script('data/pystdlib_char/prepare.py', '--help')
    assert proc.returncode == 0 and 'standard library' in proc.stdout


def test_missing_dataset_names_the_prepare_script(tmp_path):
    with pytest.raises(DataError, match=r"dataset 'nothing' not found .* run python data/nothing/prepare.py"):
        load_meta(tmp_path / 'nothing')
