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
from data.common import DataError, download, load_meta, write_dataset  # noqa: E402
from data.tokenizer import load_tokenizer  # noqa: E402
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
# a local HTTP server: Range, an injected 500, 404, a connection dropped mid-file


class Server:
    """Serves self.files (name -> bytes) on 127.0.0.1. Per-name faults, each used once:
    fail_once (answer 500), drop_once (send half the body, then close), ignore_range (answer 200)."""

    def __init__(self):
        self.files, self.log = {}, []
        self.fail_once, self.drop_once, self.ignore_range = set(), set(), set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                name = self.path.lstrip('/')
                rng = self.headers.get('Range')
                server.log.append((name, rng))
                if name in server.fail_once:
                    server.fail_once.discard(name)
                    return self.send_error(500)
                if name not in server.files:
                    return self.send_error(404)
                body, start = server.files[name], 0
                if rng and name not in server.ignore_range:
                    start = int(rng.split('=')[1].split('-')[0])
                    self.send_response(206)
                    self.send_header('Content-Range', f'bytes {start}-{len(body) - 1}/{len(body)}')
                else:
                    self.send_response(200)
                self.send_header('Content-Length', str(len(body) - start))
                self.end_headers()
                if name in server.drop_once:
                    server.drop_once.discard(name)
                    self.wfile.write(body[start:start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope='module')
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def sha(data):
    import hashlib
    return hashlib.sha256(data).hexdigest()


FAST = dict(retries=3, timeout=5, backoff=0.0)  # bounded: a test never waits on a retry schedule

# -----------------------------------------------------------------------------
# download()


def test_download_verifies_checksum_and_renames(server, tmp_path):
    server.files['a.txt'] = b'hello world\n' * 1000
    dest = download(f'{server.url}/a.txt', tmp_path / 'a.txt', sha256=sha(server.files['a.txt']), **FAST)
    assert dest.read_bytes() == server.files['a.txt']
    assert not (tmp_path / 'a.txt.part').exists()


def test_download_resumes_a_partial_file_with_range(server, tmp_path):
    data = bytes(range(256)) * 400
    server.files['resume.bin'] = data
    (tmp_path / 'resume.bin.part').write_bytes(data[:30000])
    server.log.clear()
    download(f'{server.url}/resume.bin', tmp_path / 'resume.bin', sha256=sha(data), **FAST)
    assert (tmp_path / 'resume.bin').read_bytes() == data
    assert server.log == [('resume.bin', 'bytes=30000-')]


def test_download_restarts_when_server_ignores_range(server, tmp_path):
    data = b'0123456789' * 5000
    server.files['norange.bin'] = data
    server.ignore_range.add('norange.bin')
    (tmp_path / 'norange.bin.part').write_bytes(b'stale bytes that must not stay in front')
    download(f'{server.url}/norange.bin', tmp_path / 'norange.bin', sha256=sha(data), **FAST)
    assert (tmp_path / 'norange.bin').read_bytes() == data


def test_download_retries_after_a_500(server, tmp_path):
    server.files['flaky.txt'] = b'eventually fine\n' * 100
    server.fail_once.add('flaky.txt')
    server.log.clear()
    download(f'{server.url}/flaky.txt', tmp_path / 'flaky.txt', **FAST)
    assert (tmp_path / 'flaky.txt').read_bytes() == server.files['flaky.txt']
    assert [name for name, _ in server.log] == ['flaky.txt', 'flaky.txt']


def test_download_resumes_after_the_connection_drops(server, tmp_path):
    data = b'abcdefghij' * 20000
    server.files['drop.bin'] = data
    server.drop_once.add('drop.bin')
    server.log.clear()
    download(f'{server.url}/drop.bin', tmp_path / 'drop.bin', sha256=sha(data), chunk=4096, **FAST)
    assert (tmp_path / 'drop.bin').read_bytes() == data
    # the second request asks for the rest only: what arrived before the drop (up to the chunk in flight) is kept
    (first, r1), (second, r2) = server.log
    assert r1 is None and len(data) // 2 - 4096 <= int(r2.split('=')[1].rstrip('-')) <= len(data) // 2


def test_download_404_fails_at_once_and_cleanly(server, tmp_path):
    server.log.clear()
    with pytest.raises(DataError, match=r'missing\.txt: HTTP 404'):
        download(f'{server.url}/missing.txt', tmp_path / 'missing.txt', **FAST)
    assert len(server.log) == 1 and list(tmp_path.iterdir()) == []


def test_download_bad_checksum_leaves_nothing(server, tmp_path):
    server.files['bad.txt'] = b'not what you expected'
    with pytest.raises(DataError, match='checksum mismatch .*bad.txt'):
        download(f'{server.url}/bad.txt', tmp_path / 'bad.txt', sha256='0' * 64, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_download_offline_is_a_clear_error(tmp_path):
    import socket
    with socket.socket() as s:  # a port nobody listens on: connection refused, like no network
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match=r'could not download http://127.0.0.1:\d+/x.txt \(offline\?\)'):
        download(f'http://127.0.0.1:{port}/x.txt', tmp_path / 'x.txt', **FAST)
    assert not (tmp_path / 'x.txt').exists()


def test_download_skips_an_existing_file_and_replaces_a_corrupt_one(server, tmp_path):
    server.files['keep.txt'] = b'fresh'
    dest = tmp_path / 'keep.txt'
    dest.write_bytes(b'already here')
    server.log.clear()
    download(f'{server.url}/keep.txt', dest, **FAST)
    assert dest.read_bytes() == b'already here' and server.log == []
    download(f'{server.url}/keep.txt', dest, sha256=sha(b'fresh'), **FAST)
    assert dest.read_bytes() == b'fresh'

# -----------------------------------------------------------------------------
# write_dataset, load_meta, the one-line error exit


def test_write_dataset_dtypes_shards_and_meta_last(tmp_path):
    small = np.arange(1000) % 300
    meta = write_dataset(tmp_path / 'small', {'train': small, 'val': [small[:10], small[10:30]]},
                         {'vocab_size': 300, 'tokenizer': 'char', 'chars': 'x' * 300})
    assert meta['dtype'] == 'uint16' and meta['train'] == ['train.bin'] and meta['val'] == ['val_000.bin', 'val_001.bin']
    assert (meta['train_tokens'], meta['val_tokens']) == (1000, 30)
    assert json.loads((tmp_path / 'small' / 'meta.json').read_text()) == load_meta(tmp_path / 'small') == meta
    assert read_tokens(tmp_path / 'small', 'val').tolist() == small[:30].tolist()
    big = np.array([0, 65535, 65536, 99999])
    meta = write_dataset(tmp_path / 'big', {'train': big, 'val': big}, {'vocab_size': 100000, 'tokenizer': 'bpe'})
    assert meta['dtype'] == 'uint32' and read_tokens(tmp_path / 'big', 'train').tolist() == big.tolist()
    assert sorted(p.name for p in (tmp_path / 'big').iterdir()) == ['meta.json', 'train.bin', 'val.bin']  # no temp files
    with pytest.raises(ValueError, match='out of range'):
        write_dataset(tmp_path / 'bad', {'train': np.array([5]), 'val': np.array([0])}, {'vocab_size': 5, 'tokenizer': 'char'})
    assert not (tmp_path / 'bad' / 'meta.json').exists()


def test_load_meta_names_missing_token_files(tmp_path):
    write_dataset(tmp_path / 'ds', {'train': np.arange(5), 'val': np.arange(5)}, {'vocab_size': 5, 'tokenizer': 'char'})
    (tmp_path / 'ds' / 'val.bin').unlink()
    with pytest.raises(DataError, match=r'val\.bin listed in meta.json is missing: run python data/ds/prepare.py'):
        load_meta(tmp_path / 'ds')


def test_data_common_does_not_import_the_tokenizer():
    """data.tokenizer imports data.common, never the other way round (no circle): the char path needs no tiktoken."""
    r = subprocess.run([sys.executable, '-c', 'import sys, data.common; print(sorted(m for m in sys.modules '
                        "if m.startswith(('data.', 'tiktoken'))))"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "['data.common']", r.stderr


def test_a_data_error_in_a_prepare_script_is_one_line_and_exit_2(tmp_path):
    script = tmp_path / 'prep.py'
    script.write_text(f'import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom cli import exit_on_user_error\n'
                      'from data.common import DataError\nexit_on_user_error()\n'
                      "raise DataError('file x.txt not found:\\ncheck the path')\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr == 'error: file x.txt not found: check the path\n'

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


# -----------------------------------------------------------------------------
# every other prepare.py, end to end on a tiny corpus

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "Café crème, naïve façade; 東京の夜; emoji 🙂🚀 and numbers 12345.\n") * 40


def test_pystdlib_bpe_round_trip(tmp_path):
    from data.pystdlib_bpe import prepare as pystdlib_bpe
    out = pystdlib_bpe.prepare(tmp_path, vocab_size=512)
    meta, tok = load_meta(out), load_tokenizer(out)
    assert meta['tokenizer'] == 'bpe' and meta['vocab_size'] == tok.vocab_size == 512
    root, train, val, skipped = pystdlib_char.read_sources()
    assert tok.decode(read_tokens(out, 'val')) == ''.join(t + '<|endoftext|>' for t in val)
    assert meta['train_tokens'] == len(read_tokens(out, 'train'))


def test_shakespeare_char_downloads_from_the_server(server, tmp_path):
    server.files['input.txt'] = TEXT.encode()
    proc = run_script('data/shakespeare_char/prepare.py', '--url', f'{server.url}/input.txt', '--out_dir', tmp_path)
    assert proc.returncode == 0, proc.stderr
    meta, tok = load_meta(tmp_path), load_tokenizer(tmp_path)
    assert meta['tokenizer'] == 'char' and meta['chars'] == ''.join(sorted(set(TEXT)))
    assert tok.decode(read_tokens(tmp_path, 'train')) + tok.decode(read_tokens(tmp_path, 'val')) == TEXT
    assert meta['val_tokens'] == len(TEXT) - int(len(TEXT) * 0.9)
    assert (tmp_path / 'input.txt').read_text() == TEXT


def test_shakespeare_bpe_from_a_local_file(tmp_path):
    (tmp_path / 'play.txt').write_text(TEXT)
    proc = run_script('data/shakespeare/prepare.py', '--input', tmp_path / 'play.txt', '--vocab_size', 300,
                      '--out_dir', tmp_path / 'out')
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / 'out'
    meta, tok = load_meta(out), load_tokenizer(out)
    assert meta['tokenizer'] == 'bpe' and meta['vocab_size'] == tok.vocab_size <= 300
    assert tok.decode(read_tokens(out, 'train')) + tok.decode(read_tokens(out, 'val')) == TEXT
    assert int(tok.token_bytes[read_tokens(out, 'train')].sum()) + int(tok.token_bytes[read_tokens(out, 'val')].sum()) \
        == len(TEXT.encode())


def test_tinystories_downloads_and_separates_stories(server, tmp_path):
    stories = [f'Once upon a time, story {i} had a cat named Tom. Tom was {"happy" if i % 2 else "sad"}.'
               for i in range(200)]
    raw = lambda xs: ('\n<|endoftext|>\n'.join(xs) + '\n').encode()
    server.files['ts/TinyStoriesV2-GPT4-train.txt'] = raw(stories[:180])
    server.files['ts/TinyStoriesV2-GPT4-valid.txt'] = raw(stories[180:])
    proc = run_script('data/tinystories/prepare.py', '--url', f'{server.url}/ts', '--vocab_size', 400,
                      '--chunk_mb', 0.004, '--out_dir', tmp_path)
    assert proc.returncode == 0, proc.stderr
    meta, tok = load_meta(tmp_path), load_tokenizer(tmp_path)
    assert len(meta['train']) > 1  # sharded by --chunk_mb, read back as one stream
    assert tok.decode(read_tokens(tmp_path, 'train')) == ''.join(s + '<|endoftext|>' for s in stories[:180])
    assert tok.decode(read_tokens(tmp_path, 'val')) == ''.join(s + '<|endoftext|>' for s in stories[180:])
    assert meta['stories'] == 200


def test_fineweb_edu_shards_from_the_server(server, tmp_path):
    pa = pytest.importorskip('pyarrow')
    import pyarrow.parquet as pq
    shards = [[f'Document {s}.{i}: fine educational web text about {"plants" if i % 3 else "stars"} ✨.'
               for i in range(60)] for s in range(3)]
    for s, docs in enumerate(shards):
        path = tmp_path / f'shard_{s:05d}.parquet'
        pq.write_table(pa.table({'text': docs, 'id': list(range(len(docs)))}), path, row_group_size=16)
        server.files[f'fw/shard_{s:05d}.parquet'] = path.read_bytes()
    out = tmp_path / 'out'
    proc = run_script('data/fineweb_edu/prepare.py', '--num_shards', 3, '--base_url', f'{server.url}/fw',
                      '--vocab_size', 400, '--num_workers', 2, '--out_dir', out)
    assert proc.returncode == 0, proc.stderr
    meta, tok = load_meta(out), load_tokenizer(out)
    assert meta['train'] == ['train_000.bin', 'train_001.bin'] and meta['val'] == ['val_000.bin']
    assert tok.decode(read_tokens(out, 'train')) == ''.join(d + '<|endoftext|>' for d in shards[0] + shards[1])
    assert tok.decode(read_tokens(out, 'val')) == ''.join(d + '<|endoftext|>' for d in shards[2])


def test_fineweb_edu_without_pyarrow_says_how_to_install(monkeypatch, tmp_path):
    from data.fineweb_edu import prepare as fineweb
    monkeypatch.setitem(sys.modules, 'pyarrow', None)  # makes `import pyarrow` raise ImportError
    monkeypatch.setitem(sys.modules, 'pyarrow.parquet', None)
    with pytest.raises(DataError, match='pip install pyarrow'):
        fineweb.prepare(tmp_path, num_shards=2, base_url='http://127.0.0.1:9/unused')
    assert list(tmp_path.iterdir()) == []

# -----------------------------------------------------------------------------
# what a user sees when something is wrong: exit code 2, one line, no traceback


def test_missing_input_file_names_it(tmp_path):
    proc = run_script('data/shakespeare_char/prepare.py', '--input', '/nonexistent', '--out_dir', tmp_path)
    assert_one_line_error(proc, '/nonexistent')
    assert list(tmp_path.iterdir()) == []


def test_vocab_size_too_small(tmp_path):
    proc = run_script('data/pystdlib_bpe/prepare.py', '--vocab_size', 100, '--out_dir', tmp_path)
    assert_one_line_error(proc, '--vocab_size=100', '257')


def test_fineweb_zero_shards(tmp_path):
    proc = run_script('data/fineweb_edu/prepare.py', '--num_shards', 0, '--out_dir', tmp_path)
    assert_one_line_error(proc, '--num_shards=0')


def test_unknown_url_404(server, tmp_path):
    proc = run_script('data/shakespeare_char/prepare.py', '--url', f'{server.url}/no/such.txt', '--out_dir', tmp_path)
    assert_one_line_error(proc, f'{server.url}/no/such.txt', '404')
    assert not (tmp_path / 'input.txt').exists()


def test_tinystories_input_folder_without_the_files(tmp_path):
    proc = run_script('data/tinystories/prepare.py', '--input', tmp_path, '--out_dir', tmp_path / 'out')
    assert_one_line_error(proc, 'TinyStoriesV2-GPT4-train.txt')
