"""sweep.py: a grid of train.py runs, one results row each, resumable after a kill, failures recorded, dry run."""
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, TINY, run

import sweep as sw

TINY_BASE = {a[2:].split('=')[0]: eval(a.split('=', 1)[1]) for a in TINY}


def write_sweep(tmp_path, tiny_data, body, name='s'):
    base = dict(TINY_BASE, data_dir=str(tiny_data), eval_interval=10, log_interval=5)
    path = tmp_path / f'{name}.py'
    path.write_text(f'from sweep import grid\nname = {name!r}\nbase = {base!r}\n' + body)
    return path


def sweep_cmd(path, tmp_path, *args):
    return run('sweep.py', str(path), f'--results={tmp_path / "results"}', *args)


def rows_of(results):
    with open(results / 'results.jsonl') as f:
        return {r['run']: r for r in map(json.loads, f)}


def test_a_killed_sweep_skips_finished_runs_and_resumes_the_interrupted_one(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "runs = [dict(name='a', max_iters=10), dict(name='b', max_iters=200)]\n"
                                            "seeds = [7]\n")
    results = tmp_path / 'results' / 's'
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable, 'sweep.py', str(path), f'--results={tmp_path / "results"}'], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (results / 'b-s7' / 'ckpt.pt').exists():  # a is finished, b is training past its first save
            assert proc.poll() is None and time.time() < deadline, 'the sweep ended before b saved a checkpoint'
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its train.py, mid-run
        proc.wait()
    assert list(rows_of(results)) == ['a-s7']
    a_log = results / 'a-s7' / 'log.jsonl'
    a_stamp = (a_log.stat().st_mtime_ns, a_log.read_bytes())

    r = sweep_cmd(path, tmp_path)
    assert r.returncode == 0, r.stderr
    assert '1 of 2 runs already have a row' in r.stdout
    assert 'resume b-s7' in r.stdout and 'start a-s7' not in r.stdout
    assert (a_log.stat().st_mtime_ns, a_log.read_bytes()) == a_stamp      # a was not started again
    rows = rows_of(results)
    assert [rows[k]['status'] for k in ('a-s7', 'b-s7')] == ['ok', 'ok']
    assert rows['a-s7']['resumed'] is False and rows['b-s7']['resumed'] is True
    b = rows['b-s7']
    assert b['iters'] == 200 and b['tokens'] == 200 * 8 * 32
    assert [p['iter'] for p in b['curve']] == list(range(0, 201, 10))    # one eval per interval, none twice
    assert b['wall_time'] > b['curve'][-1]['seconds'] - b['curve'][0]['seconds'] > 0

    r = sweep_cmd(path, tmp_path)                                          # a finished sweep does nothing
    assert r.returncode == 0 and '2 of 2 runs already have a row' in r.stdout


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux-only')
def test_train_py_does_not_outlive_a_killed_sweep(tmp_path, tiny_data):
    """SIGKILL to the sweep alone: its train.py gets SIGTERM, saves a checkpoint and exits (no orphan keeps
    writing into the folder a re-run resumes)."""
    path = write_sweep(tmp_path, tiny_data, "runs = [dict(name='b', max_iters=2000)]\nseeds = [7]\n")
    run_dir = tmp_path / 'results' / 's' / 'b-s7'
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable, 'sweep.py', str(path), f'--results={tmp_path / "results"}'], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (run_dir / 'ckpt.pt').exists():
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        deadline = time.time() + 60
        while 'stopped by signal' not in (run_dir / 'stdout.log').read_text():
            assert time.time() < deadline, 'train.py kept running after its sweep was killed'
            time.sleep(0.1)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not (tmp_path / 'results' / 's' / 'results.jsonl').exists()    # interrupted, not finished


def test_rows_hold_every_field_and_a_failed_run_does_not_stop_the_sweep(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "runs = [dict(name='bad', n_embd=33), dict(name='dense'),\n"
                                            "        dict(name='lora', linear='lora', family='adapters')]\n"
                                            "base['max_iters'] = 20\nseeds = [1]\ntarget_loss = 2.8\njobs = 2\n")
    r = sweep_cmd(path, tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'FAILED bad-s1: error: n_embd=33 is not divisible by n_head=2' in r.stdout
    rows = rows_of(tmp_path / 'results' / 's')
    vocab = json.loads((tiny_data / 'meta.json').read_text())['vocab_size']
    assert set(rows) == {'bad-s1', 'dense-s1', 'lora-s1'}
    for row in rows.values():
        assert list(row) == list(sw.ROW_FIELDS)
    bad = rows['bad-s1']
    assert bad['status'] == 'failed' and bad['returncode'] == 2
    assert bad['error'] == 'error: n_embd=33 is not divisible by n_head=2'
    assert bad['overrides'] == {'n_embd': 33} and bad['final_val_loss'] is None

    dense, lora = rows['dense-s1'], rows['lora-s1']
    assert (dense['family'], lora['family']) == ('dense', 'adapters')     # default: the run's linear
    for row in (dense, lora):
        assert row['status'] == 'ok' and row['error'] is None and row['seed'] == 1
        assert row['tokens'] == 20 * 8 * 32 and row['iters'] == 20
        assert row['trainable'] == row['trainable_embedding'] + row['trainable_nonembedding']
        assert row['C_train'] == 6 * row['trainable_nonembedding'] * row['tokens']
        assert row['C_actual'] > 0 and row['C_frozen_2_3'] >= row['C_frozen_0'] == row['C_train']
        assert row['best_val_loss'] <= row['final_val_loss'] < math.log(vocab)
        assert row['final_val_bpb'] > 0 and row['best_val_bpb'] > 0 and row['final_train_loss'] > 0
        assert row['wall_time'] > 0 and row['train_seconds'] > 0
        assert row['peak_mem_kind'] == 'max_rss' and row['peak_mem'] > 10 * 2 ** 20   # a torch process
        hit = next(p for p in row['curve'] if p['val_loss'] <= 2.8)
        assert row['target_loss'] == 2.8
        assert (row['iter_to_target'], row['tokens_to_target'], row['C_train_to_target'],
                row['time_to_target']) == (hit['iter'], hit['tokens'], hit['C_train'], hit['seconds'])
    assert lora['frozen'] == dense['emulated_nonembedding'] > 0          # LoRA's W0 is frozen, not stored
    assert lora['trainable_nonembedding'] < dense['trainable_nonembedding']
    assert lora['checkpoint_bytes'] < dense['checkpoint_bytes']
    assert dense['overrides'] == {} and lora['overrides'] == {'linear': 'lora'}


def test_dry_run_prints_the_plan_with_counts_and_compute_and_trains_nothing(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "runs = grid(linear=['dense', 'lora']) + [dict(name='bad', n_embd=33)]\n"
                                            "runs.append(dict(name='own', seeds=[3, 4, 5]))\n"
                                            "base['max_iters'] = 50\nseeds = [1, 2]\n")
    r = sweep_cmd(path, tmp_path, '--dry-run')
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / 'results').exists()
    import torch
    from model import GPT, GPTConfig
    vocab = json.loads((tiny_data / 'meta.json').read_text())['vocab_size']
    dense = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=32, vocab_size=vocab)).param_counts()
    lines = {l.split()[0]: l for l in r.stdout.splitlines() if l.strip()}
    for seed in (1, 2):
        assert f'linear=lora-s{seed}' in lines and f'bad-s{seed}' in lines
        cols = lines[f'linear=dense-s{seed}'].split()
        assert cols[2] == f"{dense['trainable']:,}" and cols[3] == f"{dense['trainable_nonembedding']:,}"
        assert cols[6] == f'{50 * 8 * 32:,}'                                      # tokens
        assert float(cols[7]) == pytest.approx(6 * dense['trainable_nonembedding'] * 50 * 8 * 32, rel=1e-2)
        assert 'error: n_embd=33 is not divisible by n_head=2' in lines[f'bad-s{seed}']
        assert f'own-s{seed}' not in lines
    assert all(f'own-s{seed}' in lines for seed in (3, 4, 5))      # a run's own seeds replace the sweep's
    assert 'total:' in r.stdout


def test_a_bad_sweep_file_is_one_error_line(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "runs = [dict(name='a')]\nseed = [1]\n")
    r = sweep_cmd(path, tmp_path)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: {path}: unknown sweep setting 'seed'; did you mean seeds? (private helpers start with _)"]
    path.write_text("runs = [dict(name='a', out_dir='x')]\n")
    r = sweep_cmd(path, tmp_path)
    assert r.returncode == 2 and 'sets out_dir, which the sweep sets itself' in r.stderr
    assert not (tmp_path / 'results').exists()


def test_collect_times_a_resumed_run_from_its_first_start(tmp_path):
    """seconds restart at 0 in a resumed train.py; the row's times carry the attempts before it."""
    out = tmp_path / 'r'
    out.mkdir()
    (out / 'config.json').write_text(json.dumps(dict(config=dict(max_iters=30), params=dict(
        trainable=10, trainable_embedding=4, trainable_nonembedding=6, frozen=0, emulated_nonembedding=6,
        checkpoint_bytes=40), flops_per_token=dict(C_train=36, C_actual=50, step=0, C_frozen_2_3=36, C_frozen_0=36))))
    evals = [(0, 3.0, 1.0), (10, 2.5, 11.0), (20, 2.2, 1.5), (30, 1.9, 11.5)]  # killed after 20, resumed
    with open(out / 'log.jsonl', 'w') as f:
        for it, loss, sec in evals:
            f.write(json.dumps(dict(iter=it, tokens=it * 4, train_loss=loss, val_loss=loss, val_bpb=None, lr=1e-3,
                                    C_train=36 * it * 4, C_actual=50 * it * 4, C_frozen_2_3=36 * it * 4,
                                    peak_mem=None, seconds=sec)) + '\n')
            f.write(json.dumps(dict(iter=it, loss=loss, lr=1e-3, tokens_per_sec=1.0, ms_per_iter=1.0)) + '\n')
        f.write('{"iter": 31, "val_lo')                                     # a line cut by a kill
    sweep = sw.Sweep(name='t', path='t.py', base_files=[], base={}, runs=[], seeds=[1], target_loss=2.0)
    row = sw.collect(sw.Run('r', 1, {}, 'dense'), out, sweep,
                     dict(returncode=0, error=None, resumed=True, max_rss=123, wall_time=30.0))
    assert row['status'] == 'ok' and row['final_val_loss'] == 1.9 and row['best_val_bpb'] is None
    # 1 s per iter before the kill: the checkpoint at 20 was reached at 21 s, the resumed clock adds to that
    assert [p['seconds'] for p in row['curve']] == [1.0, 11.0, 21.0 + 1.5, 21.0 + 11.5]
    assert (row['iter_to_target'], row['time_to_target'], row['C_actual_to_target']) == (30, 32.5, 50 * 120)
    sweep.target_loss = 1.0                                                   # never reached: nulls
    row = sw.collect(sw.Run('r', 1, {}, 'dense'), out, sweep,
                     dict(returncode=0, error=None, resumed=True, max_rss=123, wall_time=30.0))
    assert row['time_to_target'] is None and row['C_train_to_target'] is None and row['status'] == 'ok'


class FakeRunner:
    """run_all without training: the metric of a run is a function of its bisected value."""
    def __init__(self, loss_of_value, refs):
        self.loss_of_value, self.refs, self.ran, self.stopping = loss_of_value, refs, [], False
        self.results = None

    def run_all(self, runs):
        out = {}
        for r in runs:
            if r.id not in self.ran:
                self.ran.append(r.id)
            loss = self.refs.get(r.name) or self.loss_of_value(r.overrides['intrinsic_dim'])
            out[r.id] = dict(status='ok', best_val_loss=loss)
        return out


def test_bisect_finds_the_smallest_value_that_closes_the_gap(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "mode = 'bisect'\nseeds = [1, 2]\nbisect = dict(key='intrinsic_dim', "
                       "lo=10, hi=10000, run=dict(linear='intrinsic'), low_ref=dict(name='emb', linear='frozen'), "
                       "high_ref=dict(name='dense'), fraction=0.9, probes=20)\n")
    sweep = sw.load_sweep(path)
    # loss falls from 3.0 (embeddings only) to 1.0 (dense) as log d grows; 90% of the gap: loss <= 1.2
    loss = lambda d: 3.0 - 2.0 * min(1.0, math.log10(d) / 4)               # <= 1.2 from d = 10**3.6 = 3981
    runner = FakeRunner(loss, {'emb': 3.0, 'dense': 1.0})
    runner.results = tmp_path
    result = sw.run_bisect(sweep, runner)
    assert result['target'] == pytest.approx(1.2) and result['reached']
    assert result['answer'] == 3982 and result['bracket'] == [3981, 3982]
    assert runner.ran[:8] == ['emb-s1', 'emb-s2', 'dense-s1', 'dense-s2', 'intrinsic_dim=10-s1',
                              'intrinsic_dim=10-s2', 'intrinsic_dim=10000-s1', 'intrinsic_dim=10000-s2']
    probed = [v for v, _ in result['probes'][2:]]
    assert probed[0] == 316                                                 # the geometric midpoint first
    assert len(probed) <= 20 and all(10 < v < 10000 for v in probed)
    assert json.loads((tmp_path / 'bisect.json').read_text())['answer'] == 3982


SWEEP_FILES = sorted((REPO / 'config' / 'sweeps').glob('*.py'))


def test_every_experiment_has_a_cpu_and_a_gpu_sweep_file():
    names = {p.stem for p in SWEEP_FILES}
    experiments = {n.rsplit('_', 1)[0] for n in names}
    assert experiments >= {'elephant', 'lighton', 'substitution', 'rank_depth', 'sharing', 'intrinsic_dim'}
    for e in experiments:
        assert {f'{e}_cpu', f'{e}_gpu'} <= names, e


@pytest.mark.parametrize('path', SWEEP_FILES, ids=lambda p: p.stem)
def test_sweep_files_load_and_set_only_train_py_keys(path):
    """Every run of every sweep file resolves to a train.py config (no typo'd key). The CPU files' models are
    built on the meta device (shapes valid, variants known to model.py); a variant not in model.VARIANTS would
    fail here as a row would fail in the sweep."""
    s = sw.load_sweep(path)
    assert s.name == path.stem
    defaults = sw.train_defaults()
    entries = list(s.runs)
    if s.mode == 'bisect':
        entries += [s.bisect['low_ref'], s.bisect['high_ref'], sw.bisect_run(s, s.bisect['lo'])[0],
                    sw.bisect_run(s, s.bisect['hi'])[0]]
    for run_ in {r.name: r for r in sw.expand(s, entries)}.values():
        cfg = sw.resolve_config(s, run_.overrides, run_.seed, defaults)
        if path.stem.endswith('_cpu'):
            assert cfg['dataset'] == 'pystdlib_char' and cfg['device'] == 'auto'
            e = sw.estimate(cfg)
            assert e['trainable_nonembedding'] > 0 and e['C_actual'] > 0
