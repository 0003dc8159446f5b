"""Every input a user can get wrong ends in one line naming the problem and the fix: exit code 2, no
traceback, nothing written. docs/errors.md lists the same cases with the message a user sees."""
import os

import pytest
import torch

from conftest import TINY, run

T = 'train.py'
S = 'sample.py'

# (script, arguments, a fragment of the one-line message); {data} is a prepared tiny dataset,
# {ckpt} a folder with a trained checkpoint, {tmp} a scratch folder
CASES = [
    (T, ['--n_layr=3'], "unknown config key 'n_layr' on the command line; did you mean n_layer"),
    (T, ['{tmp}/bad_key.py'], "unknown config key 'learning_rat' in"),
    (T, ['config/nope.py'], "config file 'config/nope.py' not found"),
    (T, ['--batch_size=abc'], "batch_size='abc' on the command line has type str, expected int"),
    (T, ['--learning_rate=fast'], 'learning_rate'),
    (T, ['--compile=maybe'], 'must be auto, True or False'),
    (T, ['--batch_size'], 'needs a value: --batch_size=VALUE'),
    (T, ['--n_embd=33'], 'n_embd=33 is not divisible by n_head=2'),
    (T, ['--n_embd=30'], 'head size n_embd/n_head=15 must be even'),
    (T, ['--n_layer=-1'], 'n_layer=-1 must be a positive integer'),
    (T, ['--linear=sparse'], "linear='sparse' is not a linear variant; valid: dense"),
    (T, ['--rank_schedule=cubic', '--linear=lowrank'], "rank_schedule='cubic' is not one of constant"),
    (T, ['--linear=lowrank', '--attn_rank=100'], 'rank 100 at layer 0 is outside [1, 32]'),
    (T, ['--linear=lowrank', '--attn_rank=0'], 'attn_rank=0: a rank must be at least 1'),
    (T, ['--linear=lowrank', '--mlp_rank=1.5'], 'a float rank is a fraction of the break-even rank'),
    (T, ['--linear=lowrank', '--attn_rank=[4,4,4]'], 'attn_rank has 3 entries but n_layer=2'),
    (T, ['--dropout=1.5'], 'dropout=1.5 must be in [0, 1)'),
    (T, ['--batch_size=0'], 'batch_size=0 must be at least 1'),
    (T, ['--learning_rate=0'], 'learning_rate=0.0 must be positive'),
    (T, ['--target_flops=1e9', '--tokens_per_param=20'],
     'target_flops=1000000000.0 and tokens_per_param=20.0 both set the budget; give one of them (the other 0)'),
    (T, ['--flops_basis=C_total'], "flops_basis='C_total' must be 'C_train' or 'C_actual'"),
    (T, ['--init_from=gpt2'], "init_from='gpt2' must be 'scratch' or 'resume'"),
    (T, ['--dtype=float8'], "dtype='float8' must be one of"),
    (T, ['--device=tpu'], "device='tpu' must be auto, cpu"),
    (T, ['--block_size=100000'], 'block_size=100000 is longer than the'),
    (T, ['--dataset=nowhere', '--data_dir='], "dataset 'nowhere' has no folder"),
    (T, ['--dataset=shakespeare_char', '--data_dir='], 'run python data/shakespeare_char/prepare.py'),
    (T, ['--init_from=resume', '--out_dir={tmp}/none'], 'no checkpoint at'),
    (T, ['--init_from=resume', '--out_dir={tmp}/garbage'], 'is not a readable checkpoint'),
    (T, ['--init_from=resume', '--out_dir={tmp}/format1'], 'was written by an older nanoreparam whose frozen random'),
    (T, ['--doped=TFX'], "doped='TFX' must be a string of T and F"),
    (T, ['--share=many'], "share='many' must be 'none', 'all' or a group size"),
    (T, ['--optimizer=sgd'], "optimizer='sgd' must be 'adamw' or 'muon'"),
    ('export.py', ['--out_dir={tmp}/none'], 'no checkpoint at'),
    (S, ['--out_dir={ckpt}', '--top_p=1.5'], 'top_p=1.5 must be in (0, 1]'),
    (S, ['--out_dir={ckpt}', '--temperature=0'], 'temperature=0.0 must be > 0'),
    (S, ['--out_dir={ckpt}', '--start='], 'start is empty'),
    (S, ['--out_dir={ckpt}', '--start=FILE:/nonexistent.txt'], "start file '/nonexistent.txt' not found"),
    (S, ['--out_dir={tmp}/none'], 'no checkpoint at'),
    (S, ['--out_dir={tmp}/garbage'], 'is not a readable checkpoint'),
    (S, ['--out_dir={tmp}/format1'], 'was written by an older nanoreparam whose frozen random'),
    (S, ['--out_dir={ckpt}', '--top_k=-3'], 'top_k=-3 must be 0 (off) or positive'),
    (S, ['--out_dir={ckpt}', '--start=€'], "is not in this dataset's vocabulary"),
    ('data/shakespeare_char/prepare.py', ['--input', '/nonexistent.txt', '--out_dir', '{tmp}/sc'], '/nonexistent.txt'),
    ('data/pystdlib_bpe/prepare.py', ['--vocab_size', '100', '--out_dir', '{tmp}/pb'], 'vocab_size'),
    ('data/fineweb_edu/prepare.py', ['--num_shards', '0', '--out_dir', '{tmp}/fw'], 'num_shards'),
    # output folders
    (T, ['--out_dir=/proc/x'], '--out_dir=/proc/x: cannot create this folder'),
    (T, ['--out_dir='], 'out_dir is empty'),
    (T, ['--out_dir={tmp}/bad_key.py'], 'is a file, not a folder'),
    # a resumed run is the checkpoint's model, so a different model key (or a setting its optimizer state or data
    # order depends on) is refused, not silently ignored
    (T, ['--init_from=resume', '--out_dir={ckpt}', '--n_layer=3'], 'trained with n_layer=2, not 3: resume with the same'),
    (T, ['--init_from=resume', '--out_dir={ckpt}', '--linear=lowrank'], "trained with linear='dense', not 'lowrank'"),
    (T, ['--init_from=resume', '--out_dir={ckpt}', '--seed=7'], 'was trained with seed=1337, not 7'),
    (T, ['--init_from=resume', '--out_dir={ckpt}', '--weight_decay=0.5'], 'was trained with weight_decay=0.1, not 0.5'),
    (T, ['--share=7'], "share=7 is larger than the 2 trainable layers: use share='all'"),
    (T, ['--linear=lora', '--lora_alpha=-1'], 'lora_alpha=-1.0 must not be negative'),
    (T, ['--device=cuda:x'], "device='cuda:x' must be auto, cpu, cuda, cuda:N or mps"),
    (S, ['--out_dir={ckpt}', '--device=tpu'], "device='tpu' must be auto, cpu"),
    ('model.py', ['--linear=bogus'], "linear='bogus' is not a linear variant"),
    ('model.py', ['--compare', '--n_layr=2'], "unknown config key 'n_layr' on the command line; did you mean n_layer"),
    ('bench.py', ['--kernels', '--sizes=100'], '--sizes powers of two'),
    ('bench.py', ['--layers', '--device=tpu'], "device='tpu' must be auto, cpu"),
    ('bench.py', [], 'pick at least one section: --kernels, --layers, --variants, --relstep, --bases, --against, --gpu'),
    ('bench.py', ['--against={tmp}/nope/model.py'], 'nope/model.py: no such file; give a model.py'),
    ('bench.py', ['--against={tmp}/bad_key.py'], 'defines no GPTConfig dataclass and GPT model'),
    ('sweep.py', [], 'the following arguments are required: sweep_file'),
    ('sweep.py', ['config/sweeps/nope.py'], "sweep file 'config/sweeps/nope.py' not found"),
    ('sweep.py', ['{tmp}/typo_sweep.py', '--results={fresh}'], "run b: unknown config key 'n_layr'"),
    ('sweep.py', ['{tmp}/typo_sweep.py', '--jobs=two'], "argument --jobs: invalid int value: 'two'"),
    ('report.py', ['{tmp}'], 'results.jsonl not found: run python sweep.py'),
    ('report.py', ['{tmp}/garbage_results', '--out={fresh}'], 'results.jsonl line 1 is not JSON'),
    ('report.py', ['{tmp}/empty_results', '--out={fresh}'], 'no rows in'),
    ('data/pystdlib_char/prepare.py', ['--out_dir', '/proc/x'], 'cannot create the folder /proc/x'),
    ('data/shakespeare/prepare.py', ['--vocab_size', 'big', '--out_dir', '{fresh}'], "invalid int value: 'big'"),
]


@pytest.fixture(scope='module')
def places(tmp_path_factory, tiny_data):
    tmp = tmp_path_factory.mktemp('errors')
    (tmp / 'bad_key.py').write_text('batch_size = 4\nlearning_rat = 0.1\n')
    (tmp / 'garbage').mkdir()
    (tmp / 'garbage' / 'ckpt.pt').write_bytes(b'PK\x03\x04 this is not a checkpoint')
    (tmp / 'typo_sweep.py').write_text("runs = [dict(name='a'), dict(name='b', n_layr=3)]\n")
    (tmp / 'garbage_results').mkdir()
    (tmp / 'garbage_results' / 'results.jsonl').write_text('{"run": "a"\n{"run": "b"}\n')
    (tmp / 'empty_results').mkdir()
    (tmp / 'empty_results' / 'results.jsonl').write_text('')
    ckpt = tmp / 'ckpt'
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={ckpt}', '--max_iters=1', '--eval_interval=1')
    assert r.returncode == 0, r.stderr
    (tmp / 'format1').mkdir()       # a checkpoint from before the counter-based generator: no 'format' key
    old = {k: v for k, v in torch.load(ckpt / 'ckpt.pt', weights_only=True).items() if k != 'format'}
    torch.save(old, tmp / 'format1' / 'ckpt.pt')
    return dict(tmp=tmp, ckpt=ckpt, data=tiny_data)


@pytest.mark.parametrize('script,args,message', CASES, ids=[f'{s.split("/")[-2] if "/" in s else s}:{" ".join(a)}'
                                                          for s, a, _ in CASES])
def test_bad_input_is_one_clear_line(places, script, args, message, tmp_path):
    fresh = tmp_path / 'run'   # where a run without its own out_dir (or a sweep, a report) would write
    args = [a.format(fresh=fresh, **places) for a in args]
    base = []
    if script == T:
        base = [*TINY, f"--data_dir={places['data']}", f'--out_dir={fresh}']
    before = {p: p.stat().st_mtime_ns for p in places['ckpt'].iterdir()}
    r = run(script, *base, *args, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-1500:])
    assert 'Traceback' not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: '), r.stderr
    assert message in lines[0], lines[0]
    assert not fresh.exists()  # nothing half-written
    assert {p: p.stat().st_mtime_ns for p in places['ckpt'].iterdir()} == before  # nothing overwritten


def test_there_are_at_least_twenty_distinct_bad_inputs():
    assert len({(s, tuple(a)) for s, a, _ in CASES}) >= 20


def test_accumulation_not_divisible_by_the_process_count(tiny_data, tmp_path):
    # what torchrun --nproc_per_node=3 sets; the check runs before any process group is started
    env = dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='3', MASTER_ADDR='127.0.0.1', MASTER_PORT='29999')
    r = run('train.py', *TINY, f'--data_dir={tiny_data}', f'--out_dir={tmp_path / "run"}',
            '--gradient_accumulation_steps=4', env=env)
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert 'gradient_accumulation_steps=4 is not divisible by the 3 processes' in r.stderr
    assert not (tmp_path / 'run').exists()


def test_the_forked_runner_sees_what_a_fresh_interpreter_sees(tmp_path):
    # the cases above run forked from a process with torch already imported; a script whose exit code, output and
    # module state would differ from `python script.py` would make them prove nothing
    probe = tmp_path / 'probe.py'
    probe.write_text("import os, sys\nprint(sorted(m for m in ('model', 'train', 'cli') if m in sys.modules))\n"
                     "print(sys.argv[1:], os.getcwd(), os.environ.get('PROBE'))\n"
                     "print(sys.path[0] == os.path.dirname(__file__))\n"
                     "sys.exit(int(sys.argv[1])) if sys.argv[1] != 'raise' else 1 / 0\n")
    for args in (['0'], ['3'], ['raise']):
        a, b = run(str(probe), *args, env=dict(PROBE='x'), fresh=True), run(str(probe), *args, env=dict(PROBE='x'))
        assert (a.returncode, a.stdout) == (b.returncode, b.stdout)
        assert a.stderr.splitlines()[-1:] == b.stderr.splitlines()[-1:]
    assert b.returncode == 1 and 'Traceback' in b.stderr and 'ZeroDivisionError' in b.stderr
    a, b = run('model.py', '--linear=bogus', fresh=True), run('model.py', '--linear=bogus')
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr) and a.returncode == 2
