"""bench.py --relstep: one AdamW step moves every variant's effective weight by about as much as a dense weight's.
bench.py --bases: its profile splits the projection time by part.
bench.py --gpu, the prepared GPU check, rehearsed on CPU at toy sizes (--tiny) so that it cannot rot."""
import re

import numpy as np
import pytest
import torch

import bench
from conftest import run
from data.common import load_meta

TINY_MODEL = dict(n_layer=2, n_head=2, n_embd=32, block_size=32)
VARIANTS = {
    'lowrank': dict(linear='lowrank'),
    'lora': dict(linear='lora', attn_rank=4, mlp_rank=4),
    'basis d=5': dict(linear='basis', basis_dim=5),
    'intrinsic d=5': dict(linear='intrinsic', intrinsic_dim=5),
    'fastfood': dict(linear='fastfood'),
    'blockdiag': dict(linear='blockdiag', blocks=4),
    'shared all': dict(share='all'),
}


@pytest.fixture(scope='module')
def steps(tiny_data):
    torch.set_num_threads(1)
    meta = load_meta(tiny_data)
    tokens = torch.from_numpy(np.fromfile(tiny_data / meta['train'][0], dtype=np.dtype(meta['dtype'])).astype(np.int64))
    rel = lambda kw: bench.relative_steps(dict(TINY_MODEL, vocab_size=meta['vocab_size'], **kw), tokens, batch=8,
                                          block=32, warmup=10)
    return rel({}), {name: rel(kw) for name, kw in VARIANTS.items()}


# intrinsic d=5 moves 0.4-0.5x dense here, and doubling its lr multiplier does not double that: 5 numbers for the
# whole model oscillate after a few steps and Adam's momentum cancels the step (measured, docs/variants.md#learning-rates)
OPEN = {'intrinsic d=5': 'intrinsic d=5 moves 0.46x dense: its step is set by an oscillating landscape, not its lr'}


@pytest.mark.parametrize('variant', [pytest.param(v, marks=pytest.mark.xfail(reason=OPEN[v], strict=False))
                                     if v in OPEN else v for v in VARIANTS])
def test_each_variant_moves_its_effective_weight_within_2x_of_dense(steps, variant):
    dense, variants = steps
    rel = variants[variant]
    assert set(rel) == set(dense)                      # every layer and role, the intrinsic ones included
    assert all(v > 0 for v in rel.values())
    assert 0.5 <= bench.relstep_ratio(rel, dense) <= 2.0, {k: v / dense[k] for k, v in rel.items()}


def test_tiny_gpu_check_writes_every_table_and_the_targets(tmp_path):
    report = tmp_path / 'report.md'
    r = run('bench.py', '--tiny', f'--report={report}', timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'report: {report}' in r.stdout
    text = report.read_text()
    for title, header in [('## Walsh-Hadamard transform', '| n | dtype | clone ms | fused ms | dense ms |'),
                          ('## Structured layers vs nn.Linear', '| n | layer | trainable | fwd+bwd ms |'),
                          ('## Training step: tokens/s and MFU', '| model | ms/step | tokens/s | MFU |'),
                          ('## Random bases', '| shape | model | ms/step | x dense | peak memory GB |'),
                          ('## Targets', '| target | measured | pass/fail |')]:
        assert title in text and header in text, title
    section = lambda title: text.split(title)[1].split('\n## ')[0]
    for title, rows in [('## Walsh-Hadamard', 5), ('## Structured layers', 3), ('## Training step', 3),
                        ('## Random bases', 9), ('## Targets', 4)]:
        body = [l for l in section(title).splitlines() if l.startswith('| ') and not l.startswith('|---')][1:]
        assert len(body) == rows and not any('skipped' in l for l in body), (title, body)
    # every timed row holds a number, and the fused transform agrees with the float64 oracle
    errs = [float(l.split('|')[8]) for l in section('## Walsh-Hadamard').splitlines() if re.match(r'\| \d', l)]
    assert errs and max(errs) < 1e-2
    assert 'dense d20' in text and 'lowrank d20' in text and 'intrinsic d=' in text


@pytest.mark.parametrize('cfg', [dict(linear='basis', basis_dim=8), dict(linear='intrinsic', intrinsic_dim=100)])
def test_projection_profile_splits_the_projection_time_into_parts_that_add_up(cfg):
    spent = bench.projection_profile(dict(n_layer=2, n_embd=64, n_head=2, block_size=32, vocab_size=256,
                                          basis_projection='fastfood', **cfg), torch.device('cpu'))
    parts = ('signs B, G', 'permutation Π', 'Walsh-Hadamard H', 'the rest')
    assert all(spent[p] > 0 for p in parts[:3]), spent     # each wrapped function was reached, perm_mod included
    assert sum(spent[p] for p in parts) == pytest.approx(spent['total'])
