"""sweep.py: a grid of train.py runs, one results row each, resumable after a kill, failures recorded, dry run."""
import json
import math
import os
import signal
import subprocess
import sys
import threading
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
        hit = next(p for p in row['curve'] if p['val_loss'] <= 2.8)    # train.py times it at this eval or before
        assert row['target_loss'] == 2.8 and row['iter_to_target'] <= hit['iter']
        assert row['tokens_to_target'] == row['iter_to_target'] * 8 * 32
        assert row['C_train_to_target'] == 6 * row['trainable_nonembedding'] * row['tokens_to_target']
        assert 0 < row['time_to_target'] <= row['train_seconds']
        assert row['lr_mult'] is None and row['learning_rate'] == 0.01               # not tuned
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
    """seconds restart at 0 in a train.py resumed from an older checkpoint (newer ones carry their training seconds);
    the row's times carry the attempts before it."""
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


def test_bisect_finds_the_smallest_value_that_closes_the_gap(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "mode = 'bisect'\nseeds = [1, 2]\nbisect = dict(key='intrinsic_dim', "
                       "lo=10, hi=10000, run=dict(linear='intrinsic'), low_ref=dict(name='emb', linear='frozen'), "
                       "high_ref=dict(name='dense'), fraction=0.9, probes=20, metric='final_val_loss')\n")
    sweep = sw.load_sweep(path)
    # loss falls from 3.0 (embeddings only) to 1.0 (dense) as log d grows; 90% of the gap: loss <= 1.2
    loss = lambda d: 3.0 - 2.0 * min(1.0, math.log10(d) / 4)               # <= 1.2 from d = 10**3.6 = 3981
    runner = GridRunner(lambda name, m, seed: {'emb': 3.0, 'dense': 1.0}.get(name) or loss(int(name.split('=')[1])), {})
    runner.results = tmp_path
    result = sw.run_bisect(sweep, runner)
    assert result['target'] == pytest.approx(1.2) and result['reached']
    assert result['answer'] == 3982 and result['bracket'] == [3981, 3982]
    probed = [v for v, _ in result['probes'][2:]]
    assert probed[0] == 316                                                 # the geometric midpoint first
    assert len(probed) <= 20 and all(10 < v < 10000 for v in probed)
    # every run on both seeds (each decision is on their mean): the first seed, then the second, probe by probe
    ends = ['emb', 'dense', 'intrinsic_dim=10', 'intrinsic_dim=10000']
    assert runner.trained == [f'{n}-s{s}' for s in (1, 2) for n in ends] + \
        [f'intrinsic_dim={v}-s{s}' for v in probed for s in (1, 2)]
    saved = json.loads((tmp_path / 'bisect.json').read_text())
    assert saved['answer'] == 3982 and saved['at_seeds']['holds'] is True and saved['seeds'] == [1, 2]
    assert list(saved['at_seeds']['runs']) == ['emb', 'dense'] + [f'intrinsic_dim={v}' for v in sorted([10, 10000] +
                                                                                                        probed)]


SWEEP_FILES = sorted((REPO / 'config' / 'sweeps').glob('*.py'))


def test_every_experiment_has_a_cpu_and_a_gpu_sweep_file():
    names = {sw.load_sweep(p).name for p in SWEEP_FILES}  # a file that extends another writes into its folder
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
    assert s.name == path.stem or (path.parent / f'{s.name}.py').exists()  # its own folder, or its base's
    defaults = sw.train_defaults()
    entries = list(s.runs)
    if s.mode == 'bisect':
        entries += [s.bisect['low_ref'], s.bisect['high_ref'], sw.bisect_run(s, s.bisect['lo'])[0],
                    sw.bisect_run(s, s.bisect['hi'])[0]]
    for run_ in {r.name: r for r in sw.expand(s, entries)}.values():
        cfg = sw.resolve_config(s, run_.overrides, run_.seed, defaults)
        if path.stem.endswith('_cpu'):
            assert cfg['dataset'] in ('pystdlib_char', 'pystdlib_bpe') and cfg['device'] == 'auto'
            e = sw.estimate(cfg)
            assert e['trainable_nonembedding'] > 0 and e['C_actual'] > 0


@pytest.mark.parametrize('path', [p for p in SWEEP_FILES if p.stem.endswith('_cpu')], ids=lambda p: p.stem)
def test_every_claim_of_a_cpu_sweep_compares_two_of_its_runs_on_three_paired_seeds(path):
    """No verdict from a single seed: each claim's a and b are runs of the sweep sharing at least three seeds."""
    s = sw.load_sweep(path)
    seeds = {e.name: set(e.seeds or s.seeds) for e in s.runs}
    for c in s.claims:
        assert c['a'] in seeds and c['b'] in seeds, c
        assert len(seeds[c['a']] & seeds[c['b']]) >= 3, c


def test_rank_match_compares_the_deep_low_rank_model_with_the_dense_model_nearest_its_trainable_count():
    """Gillis's comparison: each claim's b is, of the sweep's 4-layer dense models (widths) and 128-wide ones
    (depths), the one whose trainable non-embedding count is nearest a's, not another low-rank run's twin."""
    s = sw.load_sweep(REPO / 'config' / 'sweeps' / 'rank_match_cpu.py')
    defaults = sw.train_defaults()
    count = {r.name: sw.estimate(sw.resolve_config(s, r.overrides, r.seed, defaults))['trainable_nonembedding']
             for r in sw.expand(s, [e for e in s.runs if e.family in ('dense', 'dense_matched')] +
                                [e for e in s.runs if e.name == 'lowrank_L8_r0.5'])}
    assert s.claims
    for c in s.claims:
        n = count[c['a']]
        assert abs(count[c['b']] - n) == min(abs(v - n) for k, v in count.items() if k.startswith('dense')), c


@pytest.mark.parametrize('path', [p for p in SWEEP_FILES if sw.load_sweep(p).name != p.stem], ids=lambda p: p.stem)
def test_a_file_that_extends_a_sweep_keeps_its_runs_unchanged_so_their_rows_replay(path):
    """elephant_more_cpu.py writes into results/elephant_cpu/: every run, grid, seed and claim of elephant_cpu.py is
    there as it was (the same run ids, so the finished rows are replayed, not retrained), and only runs are added."""
    s = sw.load_sweep(path)
    base = sw.load_sweep(path.parent / f'{s.name}.py')
    assert (s.base, s.seeds, s.target_loss, s.gap) == (base.base, base.seeds, base.target_loss, base.gap)
    assert s.runs[:len(base.runs)] == base.runs and s.claims[:len(base.claims)] == base.claims
    assert all(sw.lr_grid_of(s, e) == sw.lr_grid_of(base, e) for e in base.runs)
    assert len(s.runs) > len(base.runs) or s.long != base.long


# -- tuned runs: an lr grid on the first seed, edges extended, other seeds at the best lr ------------------------

class GridRunner:
    """run_all without training: a run's final val loss is loss(name, lr_mult, seed) (inf: the run failed). Rows live in
    `store`, shared between runners as results.jsonl is between sweeps; after `budget` new runs the runner stops as a
    killed sweep does."""
    def __init__(self, loss, store, budget=None):
        self.loss, self.store, self.budget, self.trained, self.stopping = loss, store, budget, [], False

    def run_all(self, runs, follow=None):
        queue, out = list(runs), {}
        while queue:  # one job: runs finish in queue order, and what follows a run goes first in the queue
            r = queue.pop(0)
            if r.id in out:
                continue
            if r.id not in self.store:
                if self.budget is not None and len(self.trained) >= self.budget:
                    self.stopping = True
                    break
                self.trained.append(r.id)
                loss = self.loss(r.name, r.lr_mult, r.seed)
                self.store[r.id] = dict(status='ok' if math.isfinite(loss) else 'failed', final_val_loss=loss,
                                        lr_mult=r.lr_mult, overrides=r.overrides)
            out[r.id] = self.store[r.id]
            queue[:0] = follow(r, out[r.id]) if follow else []
        return out


def test_a_run_that_follows_another_starts_when_that_one_ends_not_when_the_whole_batch_has(tmp_path):
    """Runner.run_all with two jobs: b ends at once and its follow-up b2 starts while a still trains (a waits for b2
    to start, for at most 30 s); a finished row replays into follow without training."""
    runner = sw.Runner(sw.Sweep(name='t', path='t.py', base_files=[], base={}, runs=[], seeds=[1]), tmp_path, jobs=2)
    b2_started, trained = threading.Event(), []

    def train(run, k, total):
        trained.append(run.id)
        if run.id == 'b2-s1':
            b2_started.set()
        row = dict(run=run.id, status='ok', saw_b2=b2_started.wait(30) if run.id == 'a-s1' else None)
        runner.write_row(row)
        return row
    runner.train = train
    runner.write_row(dict(run='c-s1', status='ok'))                       # finished before: replayed
    make = lambda name: sw.Run(name, 1, {}, 'x')
    follow = lambda run, row: [make(run.name + '2')] if run.name in ('b', 'c') else []
    rows = runner.run_all([make('a'), make('b'), make('c')], follow)
    assert rows['a-s1']['saw_b2'] is True                                  # b2 ran while a was still training
    assert sorted(rows) == ['a-s1', 'b-s1', 'b2-s1', 'c-s1', 'c2-s1'] and 'c-s1' not in trained


def tuned_sweep(tmp_path, tiny_data, body):
    return sw.load_sweep(write_sweep(tmp_path, tiny_data, body))


def test_the_lr_grid_runs_on_the_first_seed_then_the_other_seeds_at_the_best_lr_only(tmp_path, tiny_data):
    sweep = tuned_sweep(tmp_path, tiny_data, "seeds = [1, 2, 3]\nlr_grid = [2, 1/2, 1]\n"
                        "runs = [dict(name='a'), dict(name='plain', lr_grid=None), dict(name='own', lr_grid=[4, 8])]\n")
    # a: best at 1 (inside the grid); own: best at 4, its lower edge, so 2 and then 1 are tried below it
    loss = lambda name, m, seed: 2.0 + math.log2(m / (1 if name == 'a' else 1.5)) ** 2 if m else 3.0
    runner = GridRunner(loss, {})
    best = sw.run_grid(sweep, runner)
    assert best == {'a': 1.0, 'own': 2.0}
    assert runner.trained == ['plain-s1', 'plain-s2', 'plain-s3',
                              'a-lr0.5-s1', 'a-lr1-s1', 'a-lr2-s1',
                              'a-lr1-s2', 'a-lr1-s3',         # a is tuned: its other seeds, at its best only
                              'own-lr4-s1', 'own-lr8-s1',
                              'own-lr2-s1',                   # own's edge won: one more point past it
                              'own-lr1-s1',                   # 2 won, now the edge: one more (the bound is 2)
                              'own-lr2-s2', 'own-lr2-s3']     # each run moves on as soon as its own points are in
    rows = runner.store
    # learning_rate and min_lr (0.01 and 0.001 in the base) are both scaled, so the schedule keeps its shape
    assert rows['a-lr0.5-s1']['overrides'] == {'learning_rate': 0.005, 'min_lr': 0.0005}
    assert rows['own-lr2-s3']['lr_mult'] == 2.0


def test_the_lr_grid_scales_muons_lr_too_under_the_muon_optimizer(tmp_path, tiny_data):
    sweep = tuned_sweep(tmp_path, tiny_data, "seeds = [1]\nlr_grid = [1/2, 2]\n"
                        "runs = [dict(name='muon', optimizer='muon', muon_lr=0.04), dict(name='adamw')]\n")
    runner = GridRunner(lambda name, m, seed: 2.0 + m, {})
    sw.run_grid(sweep, runner)
    assert runner.store['muon-lr2-s1']['overrides'] == dict(optimizer='muon', muon_lr=0.08, learning_rate=0.02,
                                                             min_lr=0.002)
    assert 'muon_lr' not in runner.store['adamw-lr2-s1']['overrides']


def test_an_edge_is_extended_at_most_lr_grid_max_extend_times_and_a_failed_point_loses(tmp_path, tiny_data):
    sweep = tuned_sweep(tmp_path, tiny_data, "seeds = [1]\nlr_grid = [1/2, 1, 2]\nlr_grid_max_extend = 2\n"
                        "runs = [dict(name='up'), dict(name='down')]\n")
    # up: the loss keeps falling with the lr, but 16 would diverge; down: it keeps falling as the lr shrinks
    loss = lambda name, m, seed: (3.0 - math.log2(m) if m < 16 else float('inf')) if name == 'up' else 3.0 + m
    runner = GridRunner(loss, {})
    assert sw.run_grid(sweep, runner) == {'up': 8.0, 'down': 0.125}   # 2 -> 4 -> 8, 1/2 -> 1/4 -> 1/8, then stop
    assert [r for r in runner.trained if r.startswith('up')] == ['up-lr0.5-s1', 'up-lr1-s1', 'up-lr2-s1',
                                                                 'up-lr4-s1', 'up-lr8-s1']
    assert sw.best_lr({1.0: 2.0, 2.0: float('inf')}) == 1.0 and sw.best_lr({1.0: float('inf')}) is None
    assert sw.run_loss(dict(status='failed', final_val_loss=1.0)) == float('inf')


def test_a_sweep_killed_in_the_middle_of_a_grid_resumes_where_it_stopped(tmp_path, tiny_data):
    sweep = tuned_sweep(tmp_path, tiny_data, "seeds = [1, 2]\nlr_grid = [1, 2]\nruns = [dict(name='a'), dict(name='b')]\n")
    loss = lambda name, m, seed: 2.0 + abs(math.log2(m or 1) - (2 if name == 'a' else 0)) + 0.01 * seed
    whole = GridRunner(loss, {})
    sw.run_grid(sweep, whole)
    for budget in range(len(whole.trained)):                 # killed after every possible number of runs
        store = {}
        first = GridRunner(loss, store, budget=budget)
        assert sw.run_grid(sweep, first) is None and first.stopping
        second = GridRunner(loss, store)
        sw.run_grid(sweep, second)
        assert first.trained + second.trained == whole.trained     # nothing twice, nothing missing, same order


def test_a_tuned_sweep_trains_each_lr_in_its_own_folder_and_rows_name_the_multiplier(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "base['max_iters'] = 10\nseeds = [1, 2]\nlr_grid = [1/2, 2]\n"
                                            "lr_grid_max_extend = 0\nruns = [dict(name='dense')]\n")
    r = sweep_cmd(path, tmp_path)
    assert r.returncode == 0, r.stderr
    rows = rows_of(tmp_path / 'results' / 's')
    best = min((rows['dense-lr0.5-s1'], rows['dense-lr2-s1']), key=lambda row: row['final_val_loss'])['lr_mult']
    assert set(rows) == {'dense-lr0.5-s1', 'dense-lr2-s1', f'dense-lr{best:g}-s2'}
    for row in rows.values():
        assert row['learning_rate'] == pytest.approx(0.01 * row['lr_mult']) and row['status'] == 'ok'
        assert (tmp_path / 'results' / 's' / row['run'] / 'log.jsonl').exists()
    assert f'lr grid dense: 0.5, 2 x learning_rate; best {best:g} (still on the edge)' in r.stdout


def test_a_flops_budget_in_base_gives_every_run_the_same_compute_in_the_plan(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "base.update(target_flops=4e11, flops_basis='C_actual')\n"
                                            "runs = [dict(name='dense'), dict(name='lowrank', linear='lowrank')]\n")
    s = sw.load_sweep(path)
    plans = [sw.estimate(sw.resolve_config(s, r.overrides, r.seed, sw.train_defaults())) for r in sw.expand(s, s.runs)]
    assert plans[0]['tokens'] < plans[1]['tokens']                      # the cheaper model trains longer
    for e in plans:
        per_iter = e['C_actual'] / (e['tokens'] // (8 * 32))
        assert e['C_actual'] >= 4e11 > e['C_actual'] - per_iter          # each within one step of the budget


def test_a_run_resolves_through_the_configurator_as_train_py_would(tmp_path):
    """Base config files, then the sweep's base dict, then the run's overrides, then the seed: the same command line
    train.py gets, resolved by configurator.configure (the one code that runs config files)."""
    (tmp_path / 'x.py').write_text("linear = 'lowrank'\nattn_rank = 0.5\nmax_iters = 7\n")
    sweep = sw.Sweep(name='t', path='t.py', base_files=[str(tmp_path / 'x.py')], base=dict(attn_rank=8), runs=[],
                     seeds=[1])
    cfg = sw.resolve_config(sweep, dict(mlp_rank=[4, 4, 4, 4]), 5, sw.train_defaults())
    assert (cfg['linear'], cfg['attn_rank'], cfg['mlp_rank'], cfg['max_iters'], cfg['seed']) == \
        ('lowrank', 8, [4, 4, 4, 4], 7, 5)
    assert sw.train_args(sweep, dict(mlp_rank=[4, 4, 4, 4]), 5) == \
        [str(tmp_path / 'x.py'), '--attn_rank=8', '--mlp_rank=[4, 4, 4, 4]', '--seed=5']
    with pytest.raises(sw.SweepError, match="t.py: run a: mlp_rank='x' on the command line has type str"):
        sw.check_configs(sw.Sweep(name='t', path='t.py', base_files=[], base={},
                                  runs=[sw.RunSpec('a', None, dict(mlp_rank='x'), None)], seeds=[1]))


# -- the long budget: listed runs again at their best lr, every one with the same compute ---------------------

def test_long_runs_retrain_the_listed_runs_at_their_best_lr_on_a_matched_compute_budget(tmp_path, tiny_data):
    sweep = tuned_sweep(tmp_path, tiny_data, "seeds = [1, 2]\nlr_grid = [1/2, 1, 2]\nlr_grid_max_extend = 0\n"
                        "runs = [dict(name='dense'), dict(name='lowrank', linear='lowrank'), dict(name='other')]\n"
                        "long = dict(factor=4, runs=['dense', 'lowrank'])\n")
    best = sw.run_grid(sweep, GridRunner(lambda name, m, seed: 2.0 + abs(m - (2 if name == 'dense' else 1)), {}))
    runs = sw.long_runs(sweep, best)
    assert [r.id for r in runs] == ['dense_x4-lr2-s1', 'dense_x4-lr2-s2', 'lowrank_x4-lr1-s1', 'lowrank_x4-lr1-s2']
    assert {r.budget for r in runs} == {4} and runs[0].overrides['learning_rate'] == pytest.approx(0.02)
    defaults = sw.train_defaults()
    cfg = sw.resolve_config(sweep, sweep.runs[0].overrides, 1, defaults)
    short = sw.estimate(cfg)
    plans = [sw.estimate(sw.resolve_config(sweep, r.overrides, r.seed, defaults)) for r in runs]
    per_iter = lambda e: e['C_actual'] / e['tokens'] * cfg['batch_size'] * cfg['block_size']
    for e in plans:   # every long run: 4 x the reference's (dense) compute at the sweep's budget, within one step
        assert e['C_actual'] >= 4 * short['C_actual'] * (1 - 1e-6) > e['C_actual'] - per_iter(e)
    assert plans[0]['tokens'] == 4 * short['tokens']                     # dense: 4 x its tokens
    assert plans[2]['tokens'] > plans[0]['tokens']                       # low-rank computes less: more tokens


@pytest.mark.parametrize('body, message', [
    ("long = dict(factor=1, runs=['dense'])", 'long factor=1 must be a number > 1'),
    ("long = dict(factor=4, runs=['nope'])", "long names run 'nope', which the sweep does not have"),
    ("long = dict(factor=4)", 'must be a dict with factor and runs'),
    ("gap = ('dense',)", 'gap=(\'dense\',) must be two run names of the sweep'),
    ("claims = [dict(claim='x', a='dense', b='nope', holds_if='a<b')]", "b='nope' is not a run of the sweep"),
    ("claims = [dict(claim='x', a='dense', b='dense', holds_if='a<<b')]", 'holds_if=\'a<<b\' must be one of'),
    ("claims = [dict(claim='x', a='dense', b='dense', holds_if='a=b')]", "holds_if 'a=b' and 'a!=b' need margin > 0"),
])
def test_a_bad_long_gap_or_claim_is_one_error_line_naming_it(tmp_path, tiny_data, body, message):
    path = write_sweep(tmp_path, tiny_data, "runs = [dict(name='dense')]\n" + body + '\n')
    with pytest.raises(sw.SweepError, match=message.replace('(', r'\(').replace(')', r'\)').replace('[', r'\[')):
        sw.load_sweep(path)


def test_a_sweep_with_a_long_phase_queues_it_after_the_short_run_and_writes_what_report_py_needs(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "base['max_iters'] = 10\nseeds = [1]\nruns = [dict(name='dense')]\n"
                                            "long = dict(factor=2, runs=['dense'])\ngap = ('dense', 'dense')\n")
    r = sweep_cmd(path, tmp_path)
    assert r.returncode == 0, r.stderr
    rows = rows_of(tmp_path / 'results' / 's')
    assert list(rows) == ['dense-s1', 'dense_x2-s1']
    assert rows['dense_x2-s1']['budget'] == 2 and rows['dense-s1']['budget'] is None
    assert rows['dense_x2-s1']['iters'] == 2 * rows['dense-s1']['iters']
    assert all(0 < row['cpu_time'] for row in rows.values())           # user + sys seconds of train.py
    meta = json.loads((tmp_path / 'results' / 's' / 'sweep.json').read_text())
    assert meta['gap'] == ['dense', 'dense'] and meta['long']['reference'] == 'dense'


# -- tuned bisection: every run on its lr grid, probe by probe, then seeds at the bracket ----------------------------

class BisectRunner(GridRunner):
    """GridRunner that run_bisect can use: bisect.json goes to `results`; `batches` lists each run_all's new runs."""
    def __init__(self, loss, store, results, budget=None):
        super().__init__(loss, store, budget)
        self.results, self.batches = results, []
        results.mkdir(parents=True, exist_ok=True)

    def run_all(self, runs, follow=None):
        n = len(self.trained)
        out = super().run_all(runs, follow)
        self.batches.append(self.trained[n:])
        return out


def d_loss(name):
    """emb 3.0, dense 1.0, intrinsic d between, falling with log d: 90% of the gap (loss <= 1.2) from d = 10^4.5."""
    return {'emb': 3.0, 'dense': 1.0}.get(name) or 3.0 - 2.0 * min(1.0, math.log10(int(name.split('=')[1])) / 5)


def bisect_sweep(tmp_path, tiny_data, **settings):
    b = dict(key='intrinsic_dim', lo=5, hi=100000, ratio=2, run=dict(linear='intrinsic'),
             low_ref=dict(name='emb', linear='frozen'), high_ref=dict(name='dense'), metric='final_val_loss')
    b.update(settings.pop('bisect', {}))
    body = "mode = 'bisect'\n" + ''.join(f'{k} = {v!r}\n' for k, v in settings.items()) + f'bisect = {b!r}\n'
    return tuned_sweep(tmp_path, tiny_data, body)


TUNED = dict(seeds=[1, 2, 3], lr_grid=[0.25, 1, 4], lr_grid_max_extend=1)


def test_tuned_probes_count_at_their_best_lr_and_the_bisection_follows_that_loss(tmp_path, tiny_data):
    # the references are best at lr x1; every intrinsic run at x4 (its grid's top edge: x8 is tried once and loses),
    # and at x1 it is 2.0 worse, so an untuned bisection sees no d reach the target
    best = lambda name: 4 if name.startswith('intrinsic') else 1
    loss = lambda name, m, seed: d_loss(name) + 0.5 * math.log2((m or 1) / best(name)) ** 2
    runner = BisectRunner(loss, {}, tmp_path / 'tuned')
    result = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, **TUNED), runner)
    assert result['reached'] and result['target'] == pytest.approx(1.2)
    lo, hi = result['bracket']
    assert lo < 10 ** 4.5 <= hi and hi / lo <= 2 and result['answer'] == hi
    for value, l in result['probes']:
        assert l == pytest.approx(d_loss(f'intrinsic_dim={value}'))            # the loss at x4, not at x1
        assert result['lr_mult'][f'intrinsic_dim={value}'] == 4.0
    assert result['lr_mult']['emb'] == result['lr_mult']['dense'] == 1.0
    grid = lambda name, mults: [f'{name}-lr{m:g}-s1' for m in mults]
    refs_ends = ['emb', 'dense', 'intrinsic_dim=5', 'intrinsic_dim=100000']
    seeds = lambda names: [f'{n}-lr{best(n)}-s{s}' for n in names for s in (2, 3)]
    # one queue: each run's next step goes first as soon as its own points are in: the references' other seeds
    # (best inside their grid); the ends' winning edge (once), then their other seeds
    assert runner.batches[0] == [p for n in refs_ends[:2] for p in grid(n, (0.25, 1, 4)) + seeds([n])] + \
        [p for n in refs_ends[2:] for p in grid(n, (0.25, 1, 4, 8)) + seeds([n])]
    first = f"intrinsic_dim={result['probes'][2][0]}"
    assert result['probes'][2][0] == 707                                        # sqrt(5 x 100000)
    assert runner.batches[1] == grid(first, (0.25, 1, 4)) + grid(first, (8,)) + seeds([first])  # probe by probe
    assert len([b for b in runner.batches if b]) == 1 + (len(result['probes']) - 2)

    untuned = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, seeds=[1]), BisectRunner(loss, {}, tmp_path / 'u'))
    assert not untuned['reached'] and untuned['note'] == 'hi=100000 does not meet the target: widen the range'


def test_a_bisection_with_a_ratio_stops_once_hi_over_lo_is_within_it(tmp_path, tiny_data):
    loss = lambda name, m, seed: d_loss(name)
    full = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, seeds=[1], bisect=dict(ratio=None, probes=40)),
                         BisectRunner(loss, {}, tmp_path / 'full'))
    assert full['bracket'] == [31622, 31623]                                    # without a ratio: adjacent values
    lo, hi, widths = 5, 100000, []
    for value, l in full['probes'][2:]:
        lo, hi = (lo, value) if l <= full['target'] else (value, hi)
        widths.append((hi / lo, [lo, hi]))
    needed = next(i for i, (w, _) in enumerate(widths, 1) if w <= 2)            # the first probe that gets within 2
    result = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, seeds=[1]), BisectRunner(loss, {}, tmp_path / 'two'))
    assert result['probes'] == full['probes'][:2 + needed]                     # same probes, stopped there
    assert result['bracket'] == widths[needed - 1][1] and 'note' not in result
    assert json.loads((tmp_path / 'two' / 'bisect.json').read_text())['bracket'] == result['bracket']
    capped = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, seeds=[1], bisect=dict(probes=2)),
                           BisectRunner(loss, {}, tmp_path / 'cap'))
    assert capped['bracket'] == widths[1][1] and capped['note'] == 'probes=2 ran out before hi/lo <= 2'


def test_every_decision_is_made_on_the_seed_means_not_on_the_first_seed(tmp_path, tiny_data):
    # the intrinsic runs are 0.3 worse than d_loss on seed 1 and 0.15 better on seeds 2 and 3: on the mean exactly
    # d_loss, so the bracket is the seed-free one (90% of the gap from 10^4.5), where seed 1 alone would put it higher
    shift = lambda name, seed: name.startswith('intrinsic') * (0.3 if seed == 1 else -0.15)
    loss = lambda name, m, seed: d_loss(name) + 0.5 * math.log2((m or 1) / 4) ** 2 + shift(name, seed)
    runner = BisectRunner(loss, {}, tmp_path / 'r')
    result = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, **TUNED), runner)
    clean = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, **TUNED),
                          BisectRunner(lambda n, m, s: d_loss(n) + 0.5 * math.log2((m or 1) / 4) ** 2, {}, tmp_path / 'c'))
    lo, hi = result['bracket']
    assert [lo, hi] == clean['bracket'] and lo < 10 ** 4.5 <= hi
    for value, l in result['probes']:
        assert l == pytest.approx(d_loss(f'intrinsic_dim={value}'))            # the mean, not seed 1's loss
    off_first = [r for r in runner.trained if not r.endswith('-s1')]
    assert off_first and all('-lr4-' in r for r in off_first)                   # other seeds at the best lr only
    at = json.loads((tmp_path / 'r' / 'bisect.json').read_text())['at_seeds']
    names = ['emb', 'dense'] + [f'intrinsic_dim={v}' for v, _ in sorted(result['probes'])]
    assert at['seeds'] == [1, 2, 3] and list(at['runs']) == names
    top = at['runs'][f'intrinsic_dim={hi}']
    assert top['value'] == hi and top['lr_mult'] == 4.0
    assert top['losses'] == pytest.approx({str(s): d_loss(f'intrinsic_dim={hi}') + shift('intrinsic', s)
                                           for s in (1, 2, 3)})
    assert top['mean'] == pytest.approx(d_loss(f'intrinsic_dim={hi}')) and top['std'] == pytest.approx(0.45 / 3 ** .5)
    assert at['target'] == pytest.approx(1.2) and at['holds'] is True           # from the references' seed means


def test_a_tuned_bisection_killed_at_any_point_resumes_to_the_same_sequence_of_runs(tmp_path, tiny_data):
    sweep = bisect_sweep(tmp_path, tiny_data, seeds=[1, 2], lr_grid=[0.25, 1, 4], lr_grid_max_extend=1,
                         bisect=dict(lo=100, hi=100000))
    # the best lr moves with d (x4 below 1000, x1 above), so the grid of some probes extends and of others not
    loss = lambda name, m, seed: d_loss(name) + 0.3 * abs(math.log2(m or 1) - (2 if 'dim=' in name and
                                                                        int(name.split('=')[1]) < 1000 else 0)) + 0.01 * seed
    whole = BisectRunner(loss, {}, tmp_path / 'whole')
    expected = sw.run_bisect(sweep, whole)
    assert expected['reached'] and expected['at_seeds']['holds']
    for budget in range(len(whole.trained)):                 # killed after every possible number of runs
        store, results = {}, tmp_path / f'kill{budget}'
        first = BisectRunner(loss, store, results, budget=budget)
        assert sw.run_bisect(sweep, first) is None and first.stopping
        assert not (results / 'bisect.json').exists()
        second = BisectRunner(loss, store, results)
        assert sw.run_bisect(sweep, second) == expected
        assert first.trained + second.trained == whole.trained     # nothing twice, nothing missing, same order


def test_a_probe_that_fails_at_every_lr_ends_the_bisection_with_an_error_and_no_seeds(tmp_path, tiny_data):
    loss = lambda name, m, seed: float('inf') if name == 'intrinsic_dim=707' else d_loss(name)
    runner = BisectRunner(loss, {}, tmp_path / 'r')
    result = sw.run_bisect(bisect_sweep(tmp_path, tiny_data, **TUNED), runner)
    assert result['error'] == 'the probe intrinsic_dim=707 failed' and not result['reached']
    assert result['probes'][-1] == (707, None) and result['lr_mult']['intrinsic_dim=707'] is None
    assert 'at_seeds' not in result
    assert [r for r in runner.trained if r.startswith('intrinsic_dim=707')] == \
        [f'intrinsic_dim=707-lr{m:g}-s1' for m in (0.25, 1, 4)]              # no other seed at no lr


def test_a_bad_bisect_setting_is_one_error_line(tmp_path, tiny_data):
    path = write_sweep(tmp_path, tiny_data, "mode = 'bisect'\nbisect = dict(key='intrinsic_dim', lo=5, hi=100, "
                       "ratio=1, low_ref=dict(linear='frozen'), high_ref=dict())\n")
    r = sweep_cmd(path, tmp_path)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f'error: {path}: bisect ratio=1 must be a number > 1 (bisect until hi/lo <= ratio, e.g. ratio=2) or None '
        f'(until no value lies between)']
    assert not (tmp_path / 'results').exists()
    with pytest.raises(sw.SweepError, match=r"bisect low_ref sets seeds; remove it"):
        bisect_sweep(tmp_path, tiny_data, bisect=dict(low_ref=dict(name='emb', linear='frozen', seeds=[1, 2])))
    with pytest.raises(sw.SweepError, match=r"a bisect sweep trains its references and probes only; remove `runs`"):
        bisect_sweep(tmp_path, tiny_data, runs=[dict(name='x')])


def test_the_plan_of_a_tuned_bisection_lists_the_first_batch_and_counts_the_runs(tmp_path, tiny_data):
    """What --dry-run prints for a bisect sweep (sweep.bisect_plan; the table's estimates are tested above)."""
    sweep = bisect_sweep(tmp_path, tiny_data, bisect=dict(hi=5120, high_ref=dict()), **TUNED)
    runs, note = sw.bisect_plan(sweep, sw.train_defaults())
    assert [r.id for r in runs] == [f'{n}-lr{m}-s1' for n in ('emb', 'high_ref', 'intrinsic_dim=5',
                                                               'intrinsic_dim=5120') for m in ('0.25', '1', '4')]
    # log2(5120 / 5) = 10: 4 probes bring it to 10/16 <= 1; 12 + 4 x 2 seeds + 4 x (3 + 2), up to 2 edge points
    # per tuned run
    assert 'about 4 probes until hi/lo <= 2 (at most 8)' in note
    assert note.endswith('40 runs in all if no lr edge wins (at most 56)')
