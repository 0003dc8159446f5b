"""Shared fixtures: a tiny character dataset, a tiny model config, and running the repo's scripts."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# a tiny, fast model: every training test uses it (about 10 ms per step on 2 CPU cores)
TINY = ['--n_layer=2', '--n_head=2', '--n_embd=32', '--block_size=32', '--batch_size=8', '--eval_iters=2',
        '--warmup_iters=5', '--learning_rate=0.01', '--min_lr=0.001']


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """A prepared char-level dataset of repetitive Python-like text, outside the repo (--data_dir)."""
    from data.common import write_dataset
    out = tmp_path_factory.mktemp('tiny_data')
    rng = np.random.default_rng(0)
    words = ['def ', 'return ', 'self', '.x', ' = ', '(', ')', ':\n', '    ', 'if ', 'else', 'for i in ', 'range', '1', '2']
    text = ''.join(rng.choice(words, size=40000))
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.int64)
    n = int(len(ids) * 0.9)
    write_dataset(out, {'train': ids[:n], 'val': ids[n:]},
                  {'vocab_size': len(chars), 'tokenizer': 'char', 'chars': ''.join(chars), 'source': 'test'})
    return out


def run(script, *args, timeout=300, env=None, **kw):
    """Run a repo script in a subprocess from the repo root; returns the CompletedProcess."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **(env or {}))
    return subprocess.run([sys.executable, *script.split(), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=full_env, **kw)


def read_log(out_dir):
    with open(Path(out_dir) / 'log.jsonl') as f:
        return [json.loads(line) for line in f if line.strip()]


def train_losses(out_dir):
    """{step: train loss} from log.jsonl (needs --log_interval=1)."""
    return {r['iter']: r['loss'] for r in read_log(out_dir) if 'loss' in r and not r.get('skipped')}
