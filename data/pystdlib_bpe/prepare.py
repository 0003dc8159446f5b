"""
The Python standard library's .py sources (the same files and split as pystdlib_char) with a byte-level
BPE trained here by rustbpe on the train files. Offline, a few seconds.

    python data/pystdlib_bpe/prepare.py [--vocab_size=4096]

Each file is followed by <|endoftext|>, so the model sees where one module ends and the next begins.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from cli import ArgumentParser, exit_on_user_error
from data.common import show, start_dataset, write_dataset
from data.pystdlib_char.prepare import VAL_EVERY, read_sources
from data.tokenizer import check_vocab_size, encode_docs, make_tokenizer

HERE = Path(__file__).resolve().parent


def prepare(out_dir=None, vocab_size=4096):
    t0 = time.time()
    check_vocab_size(vocab_size)
    out_dir = start_dataset(out_dir or HERE)
    root, train, val, skipped = read_sources()
    n_bytes = sum(len(t.encode('utf-8')) for t in train + val)
    print(f'pystdlib_bpe: {len(train) + len(val)} stdlib files ({n_bytes / 1e6:.1f} MB) from {root}')
    enc, tok_meta = make_tokenizer('bpe', train, vocab_size, out_dir)  # train split only: val stays unseen
    train_ids, val_ids = encode_docs(enc, train), encode_docs(enc, val)
    meta = dict(tok_meta,
                source=f'Python {sys.version.split()[0]} standard library .py files in {root} (no tests, '
                       f'no site-packages), every {VAL_EVERY}th file in sorted order -> val, '
                       f'each file followed by <|endoftext|>',
                train_files=len(train), val_files=len(val),
                bytes_per_token=round(n_bytes / (len(train_ids) + len(val_ids)), 4))
    write_dataset(out_dir, {'train': train_ids, 'val': val_ids}, meta)
    print(f'pystdlib_bpe: wrote {len(train_ids):,} train / {len(val_ids):,} val tokens '
          f'({meta["bytes_per_token"]} bytes/token) to {show(out_dir)} in {time.time() - t0:.1f}s')
    return out_dir


def main():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--vocab_size', type=int, default=4096, help='BPE vocabulary incl. 256 bytes and <|endoftext|>')
    parser.add_argument('--out_dir', default=str(HERE), help='where to write the dataset (default: %(default)s)')
    args = parser.parse_args()
    prepare(args.out_dir, args.vocab_size)


if __name__ == '__main__':
    exit_on_user_error()
    main()
