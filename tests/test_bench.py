"""bench.py --relstep: one AdamW step moves every variant's effective weight by about as much as a dense weight's."""
import numpy as np
import pytest
import torch

import bench
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


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_each_variant_moves_its_effective_weight_within_2x_of_dense(steps, variant):
    dense, variants = steps
    rel = variants[variant]
    assert set(rel) == set(dense)                      # every layer and role, the intrinsic ones included
    assert all(v > 0 for v in rel.values())
    assert 0.5 <= bench.relstep_ratio(rel, dense) <= 2.0, {k: v / dense[k] for k, v in rel.items()}
