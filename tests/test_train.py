"""train.py: training, exact resume after SIGKILL and SIGTERM, NaN steps, DDP, compile, and sampling."""
import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, TINY, run, read_log, train_losses
from checkpoint import load_checkpoint


def train(tmp_path, tiny_data, *args, name='out'):
    out = tmp_path / name
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={out}', *args)
    assert r.returncode == 0, r.stderr[-2000:]
    return out, r


def test_a_short_run_learns_and_samples(tmp_path, tiny_data):
    out, r = train(tmp_path, tiny_data, '--max_iters=120', '--eval_interval=40', '--log_interval=20')
    evals = [rec for rec in read_log(out) if 'val_loss' in rec]
    assert [e['iter'] for e in evals] == [0, 40, 80, 120]
    vals = [e['val_loss'] for e in evals]
    assert all(b < a for a, b in zip(vals, vals[1:])), vals
    assert vals[-1] < vals[0] - 1.0
    assert 'non-embedding trainable' in r.stdout          # the parameter report is printed at start
    last = evals[-1]
    assert last['tokens'] == 120 * 8 * 32
    assert last['C_train'] > 0 and last['C_actual'] > last['C_train']
    assert (out / 'config.json').exists() and (out / 'best.pt').exists()
    s = run('sample.py', f'--out_dir={out}', '--num_samples=2', '--max_new_tokens=30', '--start=def ')
    assert s.returncode == 0, s.stderr
    assert s.stdout.count('def ') >= 2


@pytest.mark.parametrize('variant', ['lowrank', 'lora', 'frozen'])
def test_each_variant_trains_and_samples(tmp_path, tiny_data, variant):
    out, r = train(tmp_path, tiny_data, f'--linear={variant}', '--attn_rank=0.25', '--mlp_rank=0.25',
                   '--max_iters=20', '--eval_interval=20')
    assert 'trainable' in r.stdout
    if variant != 'frozen':
        assert 'ranks per layer' in r.stdout
    s = run('sample.py', f'--out_dir={out}', '--num_samples=1', '--max_new_tokens=20')
    assert s.returncode == 0, s.stderr


def test_resume_continues_from_the_saved_iteration_past_a_log_line_cut_by_a_kill(tmp_path, tiny_data):
    out, _ = train(tmp_path, tiny_data, '--max_iters=20', '--eval_interval=10')
    ckpt = load_checkpoint(out / 'ckpt.pt')
    assert ckpt['iter_num'] == 20 and ckpt['seconds'] > 0
    with open(out / 'log.jsonl', 'a') as f:
        f.write('{"iter": 21, "lo')                      # a write cut short by a kill
    _, r = train(tmp_path, tiny_data, '--max_iters=30', '--eval_interval=10', '--init_from=resume',
                 '--lr_decay_iters=20')
    assert load_checkpoint(out / 'ckpt.pt')['iter_num'] == 30
    assert 'iter 20:' in r.stdout and 'iter 0:' not in r.stdout
    assert max(rec['iter'] for rec in read_log(out)) == 30    # the torn line is gone, the log reads whole
    # the clock goes on from the checkpoint's training seconds (time to a target counts the whole run), never back
    seconds = [rec['seconds'] for rec in read_log(out) if 'val_loss' in rec]
    assert seconds == sorted(seconds) and seconds[-1] > ckpt['seconds']


EXACT = ['--max_iters=200', '--eval_interval=50', '--log_interval=1', '--dropout=0.1']


@pytest.fixture(scope='module')
def exact_ref(tmp_path_factory, tiny_data):
    """The uninterrupted run the interrupted ones must repeat, trained once for both signals."""
    return train(tmp_path_factory.mktemp('exact'), tiny_data, *EXACT, name='ref')[0]


def wait_for_step(out, step, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if any(r.get('iter', -1) >= step and 'loss' in r for r in read_log(out)):
                return
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        assert proc.poll() is None, 'the run ended before it could be interrupted'
        time.sleep(0.01)
    raise TimeoutError


@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM])
def test_interrupted_and_resumed_run_repeats_the_uninterrupted_one_bit_for_bit(tmp_path, tiny_data, exact_ref, sig):
    out = tmp_path / 'killed'
    args = [sys.executable, 'train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={out}', *EXACT]
    env = dict(__import__('os').environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wait_for_step(out, 120, proc)  # past the checkpoint at 100, before the next at 150
    proc.send_signal(sig)
    stdout, _ = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == 0 and 'Resume with' in stdout
        stopped = load_checkpoint(out / 'ckpt.pt')['iter_num']
        assert stopped > 100   # saved at the step boundary after the signal, not at the last eval
    else:
        assert proc.returncode == -signal.SIGKILL
        assert load_checkpoint(out / 'ckpt.pt')['iter_num'] == 100
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={out}', *EXACT, '--init_from=resume')
    assert r.returncode == 0, r.stderr[-2000:]
    expected, got = train_losses(exact_ref), train_losses(out)
    assert sorted(got) == list(range(200))
    assert got == expected   # identical floats, every step
    val = lambda o: [(e['iter'], e['val_loss']) for e in read_log(o) if 'val_loss' in e]
    assert val(out) == val(exact_ref)


NAN_HOOK = """
import torch.nn.functional as _F
_ce, _calls = _F.cross_entropy, [0]
def _poisoned(*args, **kw):
    loss = _ce(*args, **kw)
    if kw.get('reduction', 'mean') == 'mean':   # training calls only (eval uses reduction='none')
        _calls[0] += 1
        if _calls[0] in _POISON:
            return loss * float('nan')
    return loss
_F.cross_entropy = _poisoned
"""


def test_a_nan_step_is_skipped_and_leaves_the_parameters_unchanged(tmp_path, tiny_data):
    hook = tmp_path / 'nan_hook.py'
    hook.write_text('_POISON = {3}\n' + NAN_HOOK)   # the third training step (step 2) is poisoned
    common = ['--eval_interval=1000', '--log_interval=1', '--lr_decay_iters=100']
    poisoned, r = train(tmp_path, tiny_data, str(hook), '--max_iters=3', *common, name='poisoned')
    assert 'step skipped' in r.stdout
    clean, _ = train(tmp_path, tiny_data, '--max_iters=2', *common, name='clean')
    a, b = load_checkpoint(poisoned / 'ckpt.pt')['model'], load_checkpoint(clean / 'ckpt.pt')['model']
    assert all(torch.equal(a[k], b[k]) for k in a)    # step 2 changed nothing
    log = read_log(poisoned)
    assert [rec['iter'] for rec in log if rec.get('skipped')] == [2]
    # and the run goes on: with more steps, the ones after the bad one train normally
    cont, _ = train(tmp_path, tiny_data, str(hook), '--max_iters=6', *common, name='cont')
    losses = train_losses(cont)
    assert set(losses) == {0, 1, 3, 4, 5} and all(v == v for v in losses.values())


def test_too_many_bad_steps_stop_the_run_and_keep_the_last_checkpoint(tmp_path, tiny_data):
    hook = tmp_path / 'nan_hook.py'
    hook.write_text('_POISON = set(range(12, 100))\n' + NAN_HOOK)
    out = tmp_path / 'out'
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={out}', str(hook), '--max_iters=40',
            '--eval_interval=10', '--max_bad_steps=3')
    assert r.returncode == 3
    assert 'non-finite steps in a row' in r.stderr and 'Traceback' not in r.stderr
    assert load_checkpoint(out / 'ckpt.pt')['iter_num'] == 10


def ddp_run(tmp_path, tiny_data, nproc, name):
    out = tmp_path / name
    # the MLPs through the intrinsic vector: its gradient is projected once per step, on the last micro-step
    args = [*TINY, f'--data_dir={tiny_data}', f'--out_dir={out}', '--max_iters=8', '--eval_interval=4',
            '--log_interval=1', '--gradient_accumulation_steps=4', '--mlp_linear=intrinsic', '--intrinsic_dim=64']
    if nproc == 1:
        r = run('train.py', *args)
    else:
        r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}',
                            'train.py', *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                           env=dict(__import__('os').environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-3000:]
    # no deprecation or other warning, and no rank aborting at exit (a gloo thread outliving Python's shutdown)
    assert 'Warning' not in r.stdout + r.stderr and 'terminate called' not in r.stderr, r.stderr[-3000:]
    return out


def test_two_process_ddp_equals_one_process_ranks_stay_identical_and_exit_cleanly(tmp_path, tiny_data):
    one = ddp_run(tmp_path, tiny_data, 1, 'one')
    two = ddp_run(tmp_path, tiny_data, 2, 'two')
    l1, l2 = train_losses(one), train_losses(two)
    assert sorted(l1) == sorted(l2) == list(range(8))
    for k in l1:
        assert abs(l1[k] - l2[k]) < 1e-4 * max(1.0, abs(l1[k])), (k, l1[k], l2[k])
    evals = [r for r in read_log(two) if 'val_loss' in r]
    assert evals and all(r['ddp_checksum_diff'] == 0.0 for r in evals)
    assert load_checkpoint(two / 'ckpt.pt')['iter_num'] == 8


def test_compile_smoke(tmp_path, tiny_data):
    out, r = train(tmp_path, tiny_data, '--compile=True', '--max_iters=3', '--eval_interval=3',
                   '--eval_iters=1')
    evals = [rec for rec in read_log(out) if 'val_loss' in rec]
    assert len(evals) == 2 and evals[-1]['val_loss'] < evals[0]['val_loss']
    assert not any(k.startswith('_orig_mod') for k in load_checkpoint(out / 'ckpt.pt')['model'])


def test_muon_run_resumed_repeats_the_uninterrupted_one_bit_for_bit(tmp_path, tiny_data):
    # low-rank attention factors go to Muon, the 3-D block-diagonal MLP weights to AdamW
    args = ['--optimizer=muon', '--attn_linear=lowrank', '--attn_rank=4', '--mlp_linear=blockdiag', '--dropout=0.1',
            '--eval_interval=10', '--log_interval=1', '--lr_decay_iters=20']
    ref, _ = train(tmp_path, tiny_data, *args, '--max_iters=20', name='ref')
    out, _ = train(tmp_path, tiny_data, *args, '--max_iters=10', name='resumed')
    ck = load_checkpoint(out / 'ckpt.pt')
    assert len(ck['muon']['state']) == 2 * 4 * 2           # layers x attention roles x (A, B), momentum buffers
    shapes = {tuple(s['exp_avg'].shape) for s in ck['optimizer']['state'].values()}
    assert {(4, 32, 8), (4, 8, 32)} <= shapes               # block-diagonal MLP weights (4 blocks) on AdamW
    train(tmp_path, tiny_data, *args, '--max_iters=20', '--init_from=resume', name='resumed')
    assert train_losses(out) == train_losses(ref) and sorted(train_losses(out)) == list(range(20))
    val = lambda o: [(e['iter'], e['val_loss']) for e in read_log(o) if 'val_loss' in e]
    assert val(out) == val(ref)
    adamw, _ = train(tmp_path, tiny_data, *args[1:], '--max_iters=10', name='adamw')
    assert train_losses(adamw)[9] != train_losses(ref)[9]   # Muon did change the updates
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={adamw}', *args[1:], '--max_iters=20',
            '--init_from=resume', '--optimizer=muon')
    assert r.returncode == 2 and 'trained with optimizer=' in r.stderr


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_nodes_through_a_rendezvous_equal_one_process_and_resume_on_one(tmp_path, tiny_data):
    """Two torchrun agents (--nnodes=2, one process each) meet at a c10d rendezvous on 127.0.0.1, as two machines
    would; Muon's updates stay identical across ranks. The run is then resumed on a single process."""
    common = [*TINY, f'--data_dir={tiny_data}', '--eval_interval=4', '--log_interval=1',
              '--gradient_accumulation_steps=2', '--lr_decay_iters=8', '--optimizer=muon']
    one, _ = train(tmp_path, tiny_data, *common, '--max_iters=8', name='one')
    two = tmp_path / 'two'
    port = free_port()
    env = dict(__import__('os').environ, OMP_NUM_THREADS='1')
    nodes = [subprocess.Popen([sys.executable, '-m', 'torch.distributed.run', '--nnodes=2', '--nproc_per_node=1',
                               f'--node_rank={i}', '--rdzv_backend=c10d', f'--rdzv_endpoint=127.0.0.1:{port}',
                               '--rdzv_id=test', 'train.py', *common, f'--out_dir={two}', '--max_iters=4'],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(2)]
    for p in nodes:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    assert all(r['ddp_checksum_diff'] == 0.0 for r in read_log(two) if 'val_loss' in r)
    assert load_checkpoint(two / 'ckpt.pt')['rng']['torch'].__len__() == 2
    r = run('train.py', *common, f'--out_dir={two}', '--max_iters=8', '--init_from=resume')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'resuming a run of 2 processes on 1' in r.stdout
    l1, l2 = train_losses(one), train_losses(two)
    assert sorted(l1) == sorted(l2) == list(range(8))
    for k in l1:
        assert abs(l1[k] - l2[k]) < 1e-4 * max(1.0, abs(l1[k])), (k, l1[k], l2[k])


WANDB_SPY = """
import json as _json, atexit as _atexit, wandb as _wandb
_logged, _init = [], _wandb.init
def _spy_init(*args, **kw):
    run = _init(*args, **kw)
    log = run.log
    def _log(data, step=None, **kw2):
        _logged.append(dict(data, _step=step))
        return log(data, step=step, **kw2)
    run.log = _log
    return run
_wandb.init = _spy_init
_atexit.register(lambda: open(_PATH, 'w').write(_json.dumps(_logged)))
"""


def test_wandb_offline_logs_what_log_jsonl_logs(tmp_path, tiny_data):
    pytest.importorskip('wandb')
    spy = tmp_path / 'spy.py'
    spy.write_text(f'_PATH = {str(tmp_path / "logged.json")!r}\n' + WANDB_SPY)
    wb = tmp_path / 'wandb'
    env = dict(WANDB_MODE='offline', WANDB_DIR=str(wb), WANDB_CONFIG_DIR=str(wb / 'config'), WANDB_SILENT='true',
               WANDB_CACHE_DIR=str(wb / 'cache'), WANDB_DATA_DIR=str(wb / 'data'),
               WANDB_BASE_URL='http://127.0.0.1:9')   # nothing listens there: a network attempt would fail
    out = tmp_path / 'out'
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={out}', str(spy), '--max_iters=4',
            '--eval_interval=2', '--log_interval=1', '--wandb_log=True', '--wandb_project=test',
            '--wandb_run_name=tiny', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    logged = json.loads((tmp_path / 'logged.json').read_text())
    expected = [{k: v for k, v in rec.items() if v is not None} for rec in read_log(out)]
    assert [{k: v for k, v in rec.items() if k != '_step'} for rec in logged] == expected
    assert [rec['_step'] for rec in logged] == [rec['iter'] for rec in expected]
    runs = list((wb / 'wandb').glob('offline-run-*/run-*.wandb'))
    assert len(runs) == 1 and b'val_bpb' in runs[0].read_bytes()   # written locally, inside WANDB_DIR


def test_wandb_log_without_wandb_is_a_one_line_error(tmp_path, tiny_data):
    hide = tmp_path / 'no_wandb.py'
    hide.write_text("import sys\nsys.modules['wandb'] = None   # as if it were not installed\n")
    out = tmp_path / 'out'
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={out}', str(hide), '--wandb_log=True')
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert r.stderr.strip().splitlines() == ['error: wandb_log=True but wandb is not installed: pip install -r '
                                             'requirements-wandb.txt, or drop --wandb_log=True']
    assert not out.exists()


# -- budgets matched by compute, and time to a target loss --------------------------------------------

def test_flops_budget_iters_reach_the_budget_and_one_step_fewer_does_not():
    from model import GPT, GPTConfig, iters_for_budget
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=32, vocab_size=15, linear='basis', basis_dim=4))
    flops, n = model.flops_per_token(), model.param_counts()['trainable_nonembedding']
    assert flops['step'] > 0                                   # C_actual has a per-step term here
    tokens, repeats = 8 * 32 * 2, 2
    for basis, budget in (('C_train', 3.3e9), ('C_actual', 7.7e10)):
        iters = iters_for_budget(flops, n, tokens, repeats, target_flops=budget, flops_basis=basis)
        per_iter = flops[basis] * tokens + (flops['step'] * repeats if basis == 'C_actual' else 0)
        assert iters * per_iter >= budget > (iters - 1) * per_iter
    iters = iters_for_budget(flops, n, tokens, repeats, tokens_per_param=20)
    assert iters * tokens >= 20 * n > (iters - 1) * tokens


def test_target_flops_sets_max_iters_and_the_schedule_and_the_run_spends_the_budget(tmp_path, tiny_data):
    budget = 4.0e9
    out, r = train(tmp_path, tiny_data, '--linear=basis', '--basis_dim=4', f'--target_flops={budget}',
                   '--flops_basis=C_actual', '--eval_interval=1000', '--max_iters=5')
    cfg = json.loads((out / 'config.json').read_text())
    iters = cfg['config']['max_iters']
    assert f'max_iters = {iters:,} from target_flops=4e+09 (C_actual)' in r.stdout and iters != 5
    last = [rec for rec in read_log(out) if 'val_loss' in rec][-1]
    assert last['iter'] == iters
    per_iter = last['C_actual'] / iters
    assert last['C_actual'] >= budget > last['C_actual'] - per_iter      # within one step of the budget
    assert load_checkpoint(out / 'ckpt.pt')['iter_num'] == iters


def test_target_loss_is_timed_between_evals(tmp_path, tiny_data):
    """Near the target, a check on a few fixed val batches every 5 steps finds the crossing that evals every 40
    steps would quantise to 40."""
    out, r = train(tmp_path, tiny_data, '--max_iters=80', '--eval_interval=40', '--target_loss=1.17',
                   '--target_eval_interval=5', '--target_eval_iters=2')
    log = read_log(out)
    evals = {rec['iter']: rec['val_loss'] for rec in log if 'val_loss' in rec}
    hit = [rec for rec in log if 'target_reached' in rec]
    assert len(hit) == 1, evals
    hit = hit[0]
    assert hit['target_reached'] == 1.17 and hit['target_val_loss'] <= 1.17
    assert hit['iter'] % 5 == 0 and hit['iter'] % 40 != 0 and evals[hit['iter'] // 40 * 40] > 1.17
    assert hit['tokens'] == hit['iter'] * 8 * 32 and hit['C_train'] > 0 and 0 < hit['seconds']
    assert f"iter {hit['iter']}: val loss" in r.stdout


def test_the_model_bytes_after_the_first_step_are_logged_once_and_reach_the_sweep_row(tmp_path, tiny_data):
    out, r = train(tmp_path, tiny_data, '--max_iters=3', '--eval_interval=3', '--log_interval=1')
    mem = [rec for rec in read_log(out) if 'param_bytes' in rec]
    assert len(mem) == 1 and mem[0]['iter'] == 0
    params = json.loads((out / 'config.json').read_text())['params']['trainable']
    assert mem[0]['param_bytes'] == 4 * params and mem[0]['grad_bytes'] == 4 * params
    assert mem[0]['optimizer_bytes'] >= 8 * params and mem[0]['activation_bytes_per_token'] > 0
    assert 'memory: param_bytes' in r.stdout
    import sweep as sw
    run_ = sw.Run('x', 1337, {}, 'dense')
    s = sw.Sweep.__new__(sw.Sweep)
    s.name, s.base_files, s.target_loss = 'x', [], None
    row = sw.collect(run_, out, s, dict(returncode=0, resumed=False, max_rss=0, wall_time=1.0))
    assert row['model_bytes'] == sum(mem[0][k] for k in ('param_bytes', 'buffer_bytes', 'grad_bytes',
                                                         'optimizer_bytes'))
    assert row['activation_bytes_per_token'] == mem[0]['activation_bytes_per_token']
