"""
Tiny Shakespeare (Karpathy's char-rnn input.txt, about 1.1 MB), character-level, as in nanoGPT.

    python data/shakespeare_char/prepare.py                 # download, then write train.bin, val.bin, meta.json
    python data/shakespeare_char/prepare.py --input FILE    # use a local text file instead (any UTF-8 text)

The first 90% of the characters are train and the last 10% val (nanoGPT's split).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from cli import ArgumentParser, exit_on_user_error
import numpy as np

from data.common import DataError, download, read_text, show, write_dataset

HERE = Path(__file__).resolve().parent
URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt'
# no sha256 pinned: we could not fetch the file here to compute one, and a guessed checksum is worse than none


def get_text(input=None, url=URL, out_dir=HERE):
    """(text, source): the text of --input, or of url downloaded once to out_dir/input.txt."""
    if input is None:
        path, source = download(url, Path(out_dir) / 'input.txt'), url
    else:
        path, source = Path(input), str(input)
    text = read_text(path)
    if not text:
        raise DataError(f'input file {path} is empty: give a text file with some content')
    return text, source


def split(text, val_fraction=0.1):
    n = int(len(text) * (1 - val_fraction))
    return text[:n], text[n:]


def prepare(out_dir=HERE, input=None, url=URL):
    out_dir = Path(out_dir)
    text, source = get_text(input, url, out_dir)
    chars = ''.join(sorted(set(text)))
    stoi = {c: i for i, c in enumerate(chars)}
    train, val = split(text)
    encode = lambda s: np.array([stoi[c] for c in s], dtype=np.int64)
    meta = {'vocab_size': len(chars), 'tokenizer': 'char', 'chars': chars, 'source': source,
            'bytes_per_token': round(len(text.encode('utf-8')) / len(text), 4)}
    write_dataset(out_dir, {'train': encode(train), 'val': encode(val)}, meta)
    print(f'shakespeare_char: {len(text):,} characters, vocab {len(chars)}: wrote {len(train):,} train / '
          f'{len(val):,} val tokens to {show(out_dir)}')
    return out_dir


def main():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--input', help='local UTF-8 text file to use instead of downloading')
    parser.add_argument('--url', default=URL, help='where to download the text from (default: %(default)s)')
    parser.add_argument('--out_dir', default=str(HERE), help='where to write the dataset (default: %(default)s)')
    args = parser.parse_args()
    prepare(args.out_dir, args.input, args.url)


if __name__ == '__main__':
    exit_on_user_error()
    main()
