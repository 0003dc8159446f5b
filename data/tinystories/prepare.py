"""
TinyStories (Eldan & Li 2023), the GPT-4-generated V2 text files from the roneneldan/TinyStories
dataset on Hugging Face, with a byte-level BPE trained here on a sample of the train file.

    python data/tinystories/prepare.py                      # downloads ~2.2 GB train + ~22 MB valid
    python data/tinystories/prepare.py --max_train_mb=100   # only the first 100 MB of train stories
    python data/tinystories/prepare.py --input DIR          # DIR holds the two .txt files already

In the files, stories are separated by '<|endoftext|>' lines. Each story is stripped of surrounding
whitespace and followed by the <|endoftext|> token. Train is written in shards train_000.bin, ...
(one per --chunk_mb of text) so the 2 GB file never has to fit in memory at once.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from cli import ArgumentParser, exit_on_user_error
from data.common import DataError, download, read_text, show, start_dataset, write_dataset
from data.tokenizer import EOT, check_vocab_size, encode_docs, make_tokenizer

HERE = Path(__file__).resolve().parent
URL = 'https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main'
FILES = {'train': 'TinyStoriesV2-GPT4-train.txt', 'val': 'TinyStoriesV2-GPT4-valid.txt'}


def iter_story_chunks(path, chunk_chars, max_chars=0):
    """Lists of stories read from path about chunk_chars characters at a time, never cutting a story;
    stop after max_chars characters of stories when max_chars > 0."""
    try:
        f = open(path, encoding='utf-8')
    except OSError as e:
        raise DataError(f'cannot read {path}: {e.strerror}: check --input') from None
    rest, total = '', 0
    with f:
        while True:
            try:
                block = f.read(chunk_chars)
            except UnicodeDecodeError as e:
                raise DataError(f'{path} is not UTF-8 text ({e.reason}): delete it and run again') from None
            text = rest + block
            if block:  # keep the text after the last separator: its story may continue in the next block
                cut = text.rfind(EOT)
                text, rest = (text[:cut], text[cut:]) if cut >= 0 else ('', text)
            stories = [s.strip() for s in text.split(EOT)]
            stories = [s for s in stories if s]
            if max_chars:
                keep = []
                for s in stories:
                    if total >= max_chars:
                        break
                    keep.append(s)
                    total += len(s)
                stories = keep
            if stories:
                yield stories
            if not block or (max_chars and total >= max_chars):
                return


def prepare(out_dir=HERE, input=None, url=URL, vocab_size=4096, tokenizer_mb=50, max_train_mb=0, chunk_mb=256):
    t0 = time.time()
    check_vocab_size(vocab_size)
    out_dir = Path(out_dir)
    if input is None:
        paths = {split: download(f'{url.rstrip("/")}/{name}', out_dir / name) for split, name in FILES.items()}
        source = f'{url} ({", ".join(FILES.values())})'
    else:
        paths = {split: Path(input) / name for split, name in FILES.items()}
        for path in paths.values():
            if not path.is_file():
                raise DataError(f'{path} not found: --input must be a folder holding {" and ".join(FILES.values())}')
        source = str(input)
    start_dataset(out_dir)
    # the tokenizer learns from the first tokenizer_mb of train stories: a sample is plenty for 4k merges
    sample = (s for chunk in iter_story_chunks(paths['train'], 1 << 22, int(tokenizer_mb * 1e6)) for s in chunk)
    enc, tok_meta = make_tokenizer('bpe', sample, vocab_size, out_dir)
    meta = dict(tok_meta, source=source, max_train_mb=max_train_mb, stories=0, bytes=0)
    tokens = [0]

    def encode_chunks(path, max_chars=0):
        # counts go into meta while streaming: write_dataset writes meta.json only after the last shard
        for stories in iter_story_chunks(path, int(chunk_mb * 1e6), max_chars):
            ids = encode_docs(enc, stories)
            meta['stories'] += len(stories)
            meta['bytes'] += sum(len(s.encode('utf-8')) for s in stories)
            tokens[0] += len(ids)
            meta['bytes_per_token'] = round(meta['bytes'] / tokens[0], 4)
            yield ids

    val_ids = list(encode_chunks(paths['val']))
    if not val_ids:
        raise DataError(f'{paths["val"]} holds no stories: delete it and run again')
    meta = write_dataset(out_dir, {'train': encode_chunks(paths['train'], int(max_train_mb * 1e6)), 'val': val_ids}, meta)
    print(f'tinystories: {meta["stories"]:,} stories: wrote {meta["train_tokens"]:,} train / {meta["val_tokens"]:,} '
          f'val tokens ({meta["bytes_per_token"]} bytes/token) to {show(out_dir)} in {time.time() - t0:.1f}s')
    return out_dir


def main():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--input', help=f'local folder holding {" and ".join(FILES.values())} (no download)')
    parser.add_argument('--url', default=URL, help='folder URL the two files are downloaded from (default: %(default)s)')
    parser.add_argument('--vocab_size', type=int, default=4096, help='BPE vocabulary incl. 256 bytes and <|endoftext|>')
    parser.add_argument('--tokenizer_mb', type=float, default=50, help='MB of train stories the BPE is trained on')
    parser.add_argument('--max_train_mb', type=float, default=0, help='use only the first MB of train stories (0: all)')
    parser.add_argument('--chunk_mb', type=float, default=256, help='MB of text per train shard')
    parser.add_argument('--out_dir', default=str(HERE), help='where to write the dataset (default: %(default)s)')
    args = parser.parse_args()
    if args.tokenizer_mb <= 0 or args.chunk_mb <= 0 or args.max_train_mb < 0:
        raise DataError('--tokenizer_mb and --chunk_mb must be > 0 and --max_train_mb >= 0')
    prepare(args.out_dir, args.input, args.url, args.vocab_size, args.tokenizer_mb, args.max_train_mb, args.chunk_mb)


if __name__ == '__main__':
    exit_on_user_error()
    main()
