"""
Tiny Shakespeare (the same text and 90/10 split as shakespeare_char) with a BPE tokenizer:
by default a byte-level BPE trained here on the train split (rustbpe), or --tokenizer=gpt2 when
tiktoken's gpt2 files are already in its local cache (nanoGPT's choice; needs no network then).

    python data/shakespeare/prepare.py [--vocab_size=4096] [--input FILE] [--tokenizer=bpe|gpt2]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from cli import ArgumentParser, exit_on_user_error
from data.common import show, start_dataset, write_dataset
from data.shakespeare_char.prepare import URL, get_text, split
from data.tokenizer import check_vocab_size, encode_docs, make_tokenizer

HERE = Path(__file__).resolve().parent


def prepare(out_dir=HERE, input=None, url=URL, vocab_size=4096, tokenizer='bpe'):
    if tokenizer == 'bpe':
        check_vocab_size(vocab_size)
    out_dir = Path(out_dir)
    text, source = get_text(input, url, out_dir)
    train, val = split(text)
    start_dataset(out_dir)  # the old dataset goes before a new tokenizer file replaces its own
    enc, tok_meta = make_tokenizer(tokenizer, [train], vocab_size, out_dir)
    # one document: no <|endoftext|> inside the play text, and val continues where train stops
    train_ids, val_ids = encode_docs(enc, [train], eot=False), encode_docs(enc, [val], eot=False)
    meta = dict(tok_meta, source=source,
                bytes_per_token=round(len(text.encode('utf-8')) / (len(train_ids) + len(val_ids)), 4))
    write_dataset(out_dir, {'train': train_ids, 'val': val_ids}, meta)
    print(f'shakespeare: {len(text):,} characters: wrote {len(train_ids):,} train / {len(val_ids):,} val '
          f'tokens ({meta["bytes_per_token"]} bytes/token) to {show(out_dir)}')
    return out_dir


def main():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--input', help='local UTF-8 text file to use instead of downloading')
    parser.add_argument('--url', default=URL, help='where to download the text from (default: %(default)s)')
    parser.add_argument('--tokenizer', default='bpe', choices=['bpe', 'gpt2'])
    parser.add_argument('--vocab_size', type=int, default=4096, help='BPE vocabulary incl. 256 bytes and <|endoftext|>')
    parser.add_argument('--out_dir', default=str(HERE), help='where to write the dataset (default: %(default)s)')
    args = parser.parse_args()
    prepare(args.out_dir, args.input, args.url, args.vocab_size, args.tokenizer)


if __name__ == '__main__':
    exit_on_user_error()
    main()
