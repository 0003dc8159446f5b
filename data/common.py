"""
Shared helpers for data/<name>/prepare.py and for the training loader.

A prepared dataset is a folder holding token files (<split>.bin, or shards <split>_000.bin, ...)
and a meta.json written last: if meta.json exists, the dataset is complete. No pickle anywhere.
"""
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = REPO_ROOT / 'data'


class DataError(Exception):
    """A data problem the user can fix (missing dataset, offline, 404, bad checksum, bad file).
    The message is one line naming the file or URL and the fix."""
    exit_code = 2  # the scripts print it in one line and exit 2 (cli.exit_on_user_error)


def show(path):
    """A path as the user should read it: relative to the repo when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)

# -----------------------------------------------------------------------------
# writing a dataset

def dtype_for(vocab_size):
    return np.uint16 if vocab_size <= 65536 else np.uint32


def atomic_write(path, write_fn, mode='wb'):
    """write_fn(f) into a temp file next to path, fsync, rename: readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f'.{path.name}.tmp{os.getpid()}')
    try:
        with open(tmp, mode) as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bin(path, ids, vocab_size):
    """Write one token file; returns the number of tokens. Checks ids fit the vocabulary, so a
    tokenizer bug cannot silently wrap around in uint16."""
    arr = np.asarray(ids)
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(f'token ids out of range [0, {vocab_size}) for {path}')
    arr = arr.astype(dtype_for(vocab_size), copy=False)
    atomic_write(path, lambda f: f.write(arr.tobytes()))
    return int(arr.size)


def write_meta(out_dir, meta):
    atomic_write(Path(out_dir) / 'meta.json', lambda f: json.dump(meta, f, indent=1, ensure_ascii=False), mode='w')


def make_dir(path):
    """Path(path), created with its parents, or a DataError naming it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f'cannot create the folder {path} ({e.strerror or e}): give a folder you can write to '
                        f'(--out_dir)') from None
    return path


def start_dataset(out_dir):
    """Make out_dir and remove meta.json and old token files first: from here until write_meta the
    dataset reads as missing, so an interrupted prepare is never mistaken for a complete one."""
    out_dir = make_dir(out_dir)
    (out_dir / 'meta.json').unlink(missing_ok=True)
    for old in out_dir.glob('*.bin'):
        old.unlink()
    return out_dir


def write_dataset(out_dir, splits, meta):
    """splits: {'train': ids, 'val': ids}, ids a 1-D int array (-> <split>.bin) or a list / iterable of
    arrays (-> shards <split>_000.bin, ...). meta must hold vocab_size; the file lists, token counts and
    dtype are added here. meta is read after the splits are written (so a generator may add corpus
    statistics to it while streaming) and meta.json is written last."""
    vocab_size = int(meta['vocab_size'])
    out_dir = start_dataset(out_dir)
    written = {}
    for split, ids in splits.items():
        if isinstance(ids, np.ndarray):
            shards, names = [ids], [f'{split}.bin']
        else:
            shards, names = ids, None
        files, total = [], 0
        for i, shard in enumerate(shards):
            name = names[0] if names else f'{split}_{i:03d}.bin'
            total += write_bin(out_dir / name, shard, vocab_size)
            files.append(name)
        if total == 0:  # the loader cannot draw a batch from (or memmap) an empty split
            raise DataError(f"split '{split}' of {show(out_dir)} would be empty: the input is too small")
        written[split], written[f'{split}_tokens'] = files, total
    meta = dict(meta, dtype=np.dtype(dtype_for(vocab_size)).name, **written)
    write_meta(out_dir, meta)
    return meta


# -----------------------------------------------------------------------------
# reading a dataset

def load_meta(data_dir):
    """meta.json of a prepared dataset; a missing or broken dataset raises DataError naming the fix."""
    data_dir = Path(data_dir)
    name = data_dir.name
    fix = f'run python data/{name}/prepare.py'
    path = data_dir / 'meta.json'
    if not path.exists():
        raise DataError(f"dataset '{name}' not found in {show(data_dir)}: {fix}")
    try:
        meta = json.loads(path.read_text(encoding='utf-8'))
        missing = [k for k in ('vocab_size', 'dtype', 'tokenizer', 'train', 'val') if k not in meta]
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f'{show(path)} is not valid JSON ({e}): {fix}') from None
    if missing:
        raise DataError(f'{show(path)} lacks {", ".join(missing)}: {fix}')
    for f in meta['train'] + meta['val']:
        if not (data_dir / f).exists():
            raise DataError(f'{show(data_dir / f)} listed in meta.json is missing: {fix}')
    return meta


# -----------------------------------------------------------------------------
# downloading

def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class _Retry(Exception):
    """A transient failure (connection error, dropped stream, 5xx): try again, keep the partial file.
    offline: no connection could be made; dns: the host name did not resolve."""
    def __init__(self, msg, offline=False, dns=False):
        super().__init__(msg)
        self.offline, self.dns = offline, dns


def _connection_error(e, url, timeout):
    """A short reason for a requests ConnectionError/Timeout (their str() is a paragraph)."""
    import re
    from urllib.parse import urlparse
    import requests
    text = str(e)
    if 'NameResolutionError' in text or 'Name or service not known' in text or 'getaddrinfo failed' in text:
        return _Retry(f'cannot resolve host {urlparse(url).hostname}', offline=True, dns=True)
    if isinstance(e, requests.Timeout):
        return _Retry(f'no answer within {timeout}s', offline=True)
    errno = re.search(r'\[Errno -?\d+\] [^)"\']*', text)
    return _Retry(errno.group(0) if errno else text[:200], offline=True)


def _fetch_once(url, part, timeout, chunk):
    """One GET into part, resuming with Range when part already holds bytes."""
    import requests
    have = part.stat().st_size if part.exists() else 0
    headers = {'Range': f'bytes={have}-'} if have else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as r:
            if r.status_code == 416:  # our partial is not a prefix of what the server has now: start over
                part.unlink()
                raise _Retry('HTTP 416 on resume, restarting')
            if r.status_code >= 500:
                raise _Retry(f'HTTP {r.status_code} {r.reason}')
            if r.status_code >= 400:
                raise DataError(f'could not download {url}: HTTP {r.status_code} {r.reason}; check the URL')
            if r.status_code == 206 and not r.headers.get('Content-Range', '').startswith(f'bytes {have}-'):
                part.unlink()
                raise _Retry('server sent a different byte range than asked, restarting')
            if r.status_code != 206:
                have = 0  # the server ignored Range and sends the whole file: restart
            expected = r.headers.get('Content-Length')
            expected = have + int(expected) if expected is not None else None
            with open(part, 'ab' if have else 'wb') as f:
                try:
                    for block in r.iter_content(chunk_size=chunk):
                        f.write(block)
                except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError):
                    pass  # dropped mid-file: what arrived is kept, the size check below asks for the rest
            size = part.stat().st_size
            if expected is not None and size != expected:
                raise _Retry(f'connection dropped at {size:,} of {expected:,} bytes')
    except (requests.ConnectionError, requests.Timeout) as e:
        raise _connection_error(e, url, timeout) from None


def download(url, dest, sha256=None, *, retries=5, timeout=30, backoff=1.0, chunk=1 << 20):
    """Download url to dest: streamed into dest.part, resumed with HTTP Range, retried with
    exponential backoff on connection errors and 5xx, checked against sha256 when given, then
    renamed to dest. A dest that exists (with the right checksum) is kept as is."""
    dest = Path(dest)
    if dest.exists():
        if sha256 is None or sha256_file(dest) == sha256:
            return dest
        print(f'{show(dest)} has the wrong checksum: downloading it again', file=sys.stderr)
        dest.unlink()
    make_dir(dest.parent)
    part = dest.with_name(dest.name + '.part')
    print(f'downloading {url} -> {show(dest)}')
    last = None
    for attempt in range(retries):
        try:
            _fetch_once(url, part, timeout, chunk)
            last = None
            break
        except KeyboardInterrupt:
            print(f'{show(part)} is kept: the download resumes from it next time', file=sys.stderr)
            raise
        except _Retry as e:
            last = e
            # a host name that does not resolve means no network: one retry for a DNS hiccup, not five
            if e.dns and attempt >= 1:
                break
            if attempt + 1 < retries:
                wait = backoff * 2 ** attempt
                print(f'  {last}; retrying in {wait:.0f}s', file=sys.stderr)
                time.sleep(wait)
    if last is not None:
        why = '(offline?)' if last.offline else f'after {attempt + 1} attempts'
        raise DataError(f'could not download {url} {why}: {last}; check the network, or use a local file (see --help)')
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256:
            part.unlink()
            raise DataError(f'checksum mismatch for {url}: expected sha256 {sha256}, got {got}; '
                            f'the download was deleted, run again or check the URL')
    os.replace(part, dest)
    return dest


def read_text(path, what='input'):
    """A UTF-8 text file, or a DataError naming it."""
    path = Path(path)
    try:
        return path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise DataError(f'{what} file {path} not found: check the path') from None
    except IsADirectoryError:
        raise DataError(f'{what} file {path} is a directory: give a text file') from None
    except UnicodeDecodeError as e:
        raise DataError(f'{what} file {path} is not UTF-8 text ({e.reason} at byte {e.start})') from None
