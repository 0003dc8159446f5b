"""
The embedded default dataset: the Python standard library's own .py sources, character-level.
Needs no network and exists wherever Python does (the exact text depends on the Python version).

    python data/pystdlib_char/prepare.py            # writes train.bin, val.bin, meta.json here

Files are taken in sorted order of their path relative to the stdlib folder; every 10th file goes to
val. Sorted paths keep a package's modules together, so taking every 10th spreads val across all
packages and val reads like train (a contiguous tail would be all xml/ and zoneinfo/).
"""
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from cli import ArgumentParser, exit_on_user_error
import numpy as np

from data.common import DataError, show, write_dataset

HERE = Path(__file__).resolve().parent
# Test suites are excluded: they hold deliberately odd code and data (bad encodings, huge literals).
# pydoc_data is generated: one 750 KB dict of English help text, 6% of the corpus and not code.
EXCLUDE_DIRS = {'site-packages', 'dist-packages', '__pycache__', 'test', 'tests', 'idle_test', 'pydoc_data'}
VAL_EVERY = 10


def stdlib_files(root=None):
    """Sorted (relative path, absolute path) of the stdlib's .py sources, without tests and packages."""
    root = Path(root or sysconfig.get_paths()['stdlib'])
    found = []
    for path in root.rglob('*.py'):
        rel = path.relative_to(root)
        if EXCLUDE_DIRS.isdisjoint(rel.parts[:-1]) and not rel.name.startswith('_sysconfigdata'):
            # _sysconfigdata_*.py is this machine's generated build configuration, not source code
            found.append((rel.as_posix(), path))
    return root, sorted(found)


def read_sources(root=None):
    """Texts of the stdlib files split into train and val, plus a description. Files that are not
    UTF-8 (a few legacy ones declare latin-1) are skipped, so the corpus is exactly the files' text."""
    root, files = stdlib_files(root)
    if not files:
        raise DataError(f'no .py files found under {root}: is this a full Python install?')
    train, val, skipped = [], [], 0
    for i, (rel, path) in enumerate(files):
        try:
            text = path.read_bytes().decode('utf-8')
        except UnicodeDecodeError:
            skipped += 1
            continue
        (val if i % VAL_EVERY == VAL_EVERY - 1 else train).append(text)
    return root, train, val, skipped


def prepare(out_dir=None):
    """Write the dataset into out_dir (default: this folder) and return the folder."""
    t0 = time.time()
    out_dir = Path(out_dir or HERE)
    root, train, val, skipped = read_sources()
    train_text, val_text = ''.join(train), ''.join(val)
    chars = ''.join(sorted(set(train_text) | set(val_text)))
    stoi = {c: i for i, c in enumerate(chars)}
    # chars are not bytes: map through a lookup on code points, much faster than a Python loop
    lut = np.zeros(ord(chars[-1]) + 1, dtype=np.int64)
    lut[[ord(c) for c in chars]] = np.arange(len(chars))
    encode = lambda s: lut[np.frombuffer(s.encode('utf-32-le'), dtype=np.uint32)]
    n_bytes = len(train_text.encode('utf-8')) + len(val_text.encode('utf-8'))
    meta = {
        'vocab_size': len(chars),
        'tokenizer': 'char',
        'chars': chars,
        'source': f'Python {sys.version.split()[0]} standard library .py files in {root} '
                  f'(no tests, no site-packages), every {VAL_EVERY}th file in sorted order -> val',
        'train_files': len(train),
        'val_files': len(val),
        'skipped_non_utf8_files': skipped,
        'bytes_per_token': round(n_bytes / (len(train_text) + len(val_text)), 4),
    }
    assert len(stoi) == len(chars)
    write_dataset(out_dir, {'train': encode(train_text), 'val': encode(val_text)}, meta)
    print(f'pystdlib_char: {len(train) + len(val)} stdlib files ({n_bytes / 1e6:.1f} MB) from {root}, '
          f'vocab {len(chars)} chars')
    print(f'pystdlib_char: wrote {len(train_text):,} train / {len(val_text):,} val tokens to {show(out_dir)} '
          f'in {time.time() - t0:.1f}s')
    return out_dir


def main():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--out_dir', default=str(HERE), help='where to write the dataset (default: %(default)s)')
    args = parser.parse_args()
    prepare(args.out_dir)


if __name__ == '__main__':
    exit_on_user_error()
    main()
