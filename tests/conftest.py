"""Shared fixtures: a tiny character dataset, a tiny model config, and running the repo's scripts."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
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


def script_env(env=None):
    return dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **(env or {}))


def run(script, *args, timeout=300, env=None, fresh=False):
    """`python script *args` from the repo root; returns the CompletedProcess. Forked from the session's fork server
    (below) unless fresh=True asks for a new interpreter."""
    if fresh:
        return subprocess.run([sys.executable, script, *args], cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, env=script_env(env))
    global _fork_runner
    if _fork_runner is None:
        _fork_runner = ForkRunner(tempfile.mkdtemp(prefix='forked-'))
        atexit.register(_fork_runner.close)
    return _fork_runner(script, *args, env=env, timeout=timeout)


# A process that has imported numpy, torch and torch._dynamo (and run nothing) forks one child per script run: the
# child is a fresh interpreter in every way a script can see (no repo module imported, its own argv, cwd, environment
# and exit code), minus the ~7 s each `python train.py` spends importing them: most of the time of the ~70 error-path
# runs (they exit before any tensor work) and of the short training runs. Requests and answers are JSON lines on the
# server's pipes.
FORK_SERVER = r"""
import atexit, json, os, runpy, signal, sys
import numpy, torch, torch._dynamo   # the optimizers import torch._dynamo on their first step: seconds more
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(req['timeout'])   # a hung script dies (returncode -14) instead of hanging the suite
            os.chdir(req['cwd'])
            os.environ.clear(); os.environ.update(req['env'])
            for fd, path in ((1, req['stdout']), (2, req['stderr'])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
            sys.stdin = open(os.devnull)
            sys.argv = [req['script'], *req['args']]
            sys.path[0] = os.path.dirname(os.path.abspath(req['script']))
            try:
                runpy.run_path(req['script'], run_name='__main__')
                code = 0
            except SystemExit as e:   # what the interpreter does with sys.exit(x)
                code = 0 if e.code is None else e.code
                if not isinstance(code, int):
                    print(code, file=sys.stderr)
                    code = 1
            except BaseException:      # the interpreter hands an uncaught exception to sys.excepthook, then exits 1
                sys.excepthook(*sys.exc_info())
            atexit._run_exitfuncs()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
"""


_fork_runner = None


class ForkRunner:
    """run(script, *args) for scripts that need no stdin, without paying torch's import each time."""
    def __init__(self, scratch):
        self.scratch = Path(scratch)
        self.proc = subprocess.Popen([sys.executable, '-c', FORK_SERVER], cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
        self.count = 0

    def __call__(self, script, *args, env=None, timeout=300):
        self.count += 1
        out, err = self.scratch / f'{self.count}.out', self.scratch / f'{self.count}.err'
        req = dict(script=script, args=list(args), cwd=str(REPO), env=script_env(env), timeout=timeout, stdout=str(out),
                   stderr=str(err))
        self.proc.stdin.write(json.dumps(req) + '\n')
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, f'the fork server died (returncode {self.proc.poll()})'
        rc = json.loads(answer)
        return subprocess.CompletedProcess([script, *args], rc, out.read_text(), err.read_text())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        shutil.rmtree(self.scratch, ignore_errors=True)


def read_log(out_dir):
    with open(Path(out_dir) / 'log.jsonl') as f:
        return [json.loads(line) for line in f if line.strip()]


def train_losses(out_dir):
    """{step: train loss} from log.jsonl (needs --log_interval=1)."""
    return {r['iter']: r['loss'] for r in read_log(out_dir) if 'loss' in r and not r.get('skipped')}
