"""
FineWeb-Edu as nanochat uses it: Karpathy's pre-shuffled parquet shards of the 100B-token sample
(karpathy/fineweb-edu-100b-shuffle on Hugging Face, shard_00000.parquet ..., text in column 'text',
about 0.1 GB each), tokenized with a byte-level BPE trained here on the first shard.

    python data/fineweb_edu/prepare.py --num_shards=4       # 3 train shards + 1 val shard
    python data/fineweb_edu/prepare.py --num_shards=4 --tokenizer=gpt2   # if gpt2 is in tiktoken's cache

Shards download in parallel to data/fineweb_edu/shards/ (kept, resumable) and are tokenized in
parallel; each parquet shard becomes one token file train_000.bin, ... and the last one val_000.bin.
meta.json lists them so the training loader reads them as one stream. Each document is followed by
<|endoftext|>. Reading parquet needs pyarrow (pip install pyarrow), which is not in requirements.txt.
"""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from cli import ArgumentParser, exit_on_user_error
from data.common import DataError, download, show, start_dataset, write_bin, write_meta, dtype_for
from data.tokenizer import check_vocab_size, make_tokenizer

HERE = Path(__file__).resolve().parent
URL = 'https://huggingface.co/datasets/karpathy/fineweb-edu-100b-shuffle/resolve/main'
MAX_SHARDS = 1823  # shard_00000 .. shard_01822 (nanochat's MAX_SHARD = 1822)
DOC_CAP = 10_000   # characters per document used for tokenizer training (nanochat's tok_train cap)


def shard_name(i):
    return f'shard_{i:05d}.parquet'


def import_pyarrow():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError('reading the fineweb_edu parquet shards needs pyarrow: pip install pyarrow') from None
    return pq


def iter_texts(path, batch_size=1024):
    """Lists of documents from a parquet shard, a record batch at a time (a shard never sits in memory whole)."""
    pq = import_pyarrow()
    try:
        f = pq.ParquetFile(path)
        if 'text' not in f.schema_arrow.names:
            raise DataError(f"{show(path)} has no 'text' column: is --base_url right? delete it and run again")
        for batch in f.iter_batches(batch_size=batch_size, columns=['text']):
            yield [t for t in batch.column(0).to_pylist() if t]
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise DataError(f'{show(path)} is not a readable parquet file ({e}): delete it and run again') from None


def tokenizer_sample(path, max_chars):
    """Documents (each capped at DOC_CAP characters) from the start of a shard, max_chars in all."""
    total = 0
    for docs in iter_texts(path):
        for doc in docs:
            yield doc[:DOC_CAP]
            total += min(len(doc), DOC_CAP)
            if total >= max_chars:
                return


def tokenize_shard(enc, path, out_path, vocab_size):
    """One parquet shard -> one token file; returns (tokens, utf-8 bytes)."""
    import numpy as np
    dtype, eot = dtype_for(vocab_size), enc.eot_token
    parts, n_bytes = [], 0
    for docs in iter_texts(path):
        # encode_ordinary releases the GIL, so shards tokenize in parallel in a thread pool
        for doc in docs:
            ids = enc.encode_ordinary(doc)
            ids.append(eot)
            parts.append(np.array(ids, dtype=dtype))
            n_bytes += len(doc.encode('utf-8'))
    if not parts:  # an empty token file cannot be memmapped by the training loader
        raise DataError(f'{show(path)} holds no text: delete it and run again')
    return write_bin(out_path, np.concatenate(parts), vocab_size), n_bytes


def prepare(out_dir=HERE, num_shards=2, base_url=URL, vocab_size=32768, tokenizer='bpe', tokenizer_mb=100,
            num_workers=None):
    t0 = time.time()
    if not 2 <= num_shards <= MAX_SHARDS:
        raise DataError(f'--num_shards={num_shards} must be between 2 and {MAX_SHARDS}: the last shard is val')
    if tokenizer == 'bpe':
        check_vocab_size(vocab_size)
    import_pyarrow()  # fail before downloading gigabytes we cannot read
    out_dir = Path(out_dir)
    num_workers = num_workers or min(8, os.cpu_count() or 1)
    shard_dir = out_dir / 'shards'
    names = [shard_name(i) for i in range(num_shards)]
    print(f'fineweb_edu: {num_shards} shards from {base_url} -> {show(shard_dir)}')
    with ThreadPoolExecutor(min(4, num_workers)) as pool:  # downloads are I/O bound; HF throttles many at once
        paths = list(pool.map(lambda n: download(f'{base_url.rstrip("/")}/{n}', shard_dir / n), names))
    start_dataset(out_dir)
    sample = tokenizer_sample(paths[0], int(tokenizer_mb * 1e6))
    enc, meta = make_tokenizer(tokenizer, sample, vocab_size, out_dir)
    vocab_size = meta['vocab_size']
    files = [f'train_{i:03d}.bin' for i in range(num_shards - 1)] + ['val_000.bin']
    with ThreadPoolExecutor(num_workers) as pool:
        counts = list(pool.map(lambda p, f: tokenize_shard(enc, p, out_dir / f, vocab_size), paths, files))
    n_tokens, n_bytes = sum(c[0] for c in counts), sum(c[1] for c in counts)
    meta.update(dtype=dtype_for(vocab_size).__name__, source=f'{base_url} {names[0]} .. {names[-1]}',
                shards=names, train=files[:-1], val=files[-1:],
                train_tokens=sum(c[0] for c in counts[:-1]), val_tokens=counts[-1][0],
                bytes_per_token=round(n_bytes / max(n_tokens, 1), 4))
    write_meta(out_dir, meta)  # last: its presence means the dataset is complete
    print(f'fineweb_edu: wrote {meta["train_tokens"]:,} train / {meta["val_tokens"]:,} val tokens '
          f'({meta["bytes_per_token"]} bytes/token) to {show(out_dir)} in {time.time() - t0:.1f}s')
    return out_dir


def main():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--num_shards', type=int, default=2, help='parquet shards to use; the last one is val')
    parser.add_argument('--base_url', default=URL, help='folder URL of the shards (default: %(default)s)')
    parser.add_argument('--tokenizer', default='bpe', choices=['bpe', 'gpt2'])
    parser.add_argument('--vocab_size', type=int, default=32768, help='BPE vocabulary incl. 256 bytes and <|endoftext|>')
    parser.add_argument('--tokenizer_mb', type=float, default=100, help='MB of text from the first shard to train the BPE on')
    parser.add_argument('--num_workers', type=int, default=None, help='threads for tokenization (default: min(8, cpus))')
    parser.add_argument('--out_dir', default=str(HERE), help='where to write the dataset (default: %(default)s)')
    args = parser.parse_args()
    if args.tokenizer_mb <= 0 or (args.num_workers is not None and args.num_workers < 1):
        raise DataError('--tokenizer_mb and --num_workers must be positive')
    prepare(args.out_dir, args.num_shards, args.base_url, args.vocab_size, args.tokenizer, args.tokenizer_mb,
            args.num_workers)


if __name__ == '__main__':
    exit_on_user_error()
    main()
