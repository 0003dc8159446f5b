"""Every variant under torch.compile on CPU: trains a few steps with the losses of eager mode, and traces with no graph
break (dense, lowrank, lora, fastfood, blockdiag, frozen must; basis and intrinsic do too, their frozen draws being
opaque custom ops).

Compiles are the slow part, so the ten variants share five tiny models (1-3 layers, 32 wide, context 16): each mixes
variants through attn_linear / mlp_linear, doped and share. They compile with backend='aot_eager', which traces Dynamo
and AOTAutograd (forward and backward graphs, the custom ops' fake implementations, the autograd Functions) as
inductor does, without its C++ codegen: an inductor compile of even this model costs minutes on a cold cache on 2
busy cores. Inductor itself runs on the dense model in tests/test_train.py::test_compile_smoke, and on every model here
with NANOREPARAM_INDUCTOR=1 (`NANOREPARAM_INDUCTOR=1 python -m pytest tests/test_compile.py -k inductor`, minutes).
"""
import os

import pytest
import torch

from model import GPT, GPTConfig

TINY = dict(vocab_size=64, block_size=16, n_head=2, n_embd=32)
# id: model config; together they cover every variant, plus doped and share
MODELS = {
    'dense+doped': dict(n_layer=3, doped=True),                                  # T F T: dense blocks, a frozen MLP
    'fastfood attn+blockdiag mlp': dict(n_layer=1, attn_linear='fastfood', mlp_linear='blockdiag'),
    'lowrank attn+lora mlp, shared': dict(n_layer=2, attn_linear='lowrank', mlp_linear='lora', share='all',
                                          attn_rank=4, mlp_rank=4),
    'frozen': dict(n_layer=1, linear='frozen'),
    'basis attn+intrinsic mlp': dict(n_layer=1, attn_linear='basis', mlp_linear='intrinsic', intrinsic_dim=50),
}
STEPS = 3
LOSS_RTOL = {'aot_eager': 1e-5,   # compiled vs eager, every step, fp32: aot_eager runs the same kernels, decomposed;
             'inductor': 1e-4}    # inductor fuses and reorders the float sums
BACKENDS = ['aot_eager', pytest.param('inductor', marks=pytest.mark.skipif(
    os.environ.get('NANOREPARAM_INDUCTOR') != '1', reason='minutes of C++ compiles: set NANOREPARAM_INDUCTOR=1'))]


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def build(name):
    torch.manual_seed(0)
    return GPT(GPTConfig(**TINY, **MODELS[name]))


def train_losses(model, steps=STEPS):
    """Losses of `steps` AdamW steps on fixed batches; the optimizer runs eagerly, as in train.py."""
    raw = getattr(model, '_orig_mod', model)
    opt = torch.optim.AdamW(raw.optim_groups(0.1), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(steps):
        x = torch.randint(0, TINY['vocab_size'], (4, TINY['block_size']), generator=g)
        _, loss = model(x, x)                                       # learnable: token t sees itself
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('name', MODELS)
def test_compiled_training_matches_eager_losses(name, backend):
    torch._dynamo.reset()
    eager = train_losses(build(name))
    compiled = train_losses(torch.compile(build(name), backend=backend, fullgraph=True))
    assert eager[-1] < eager[0]                                     # it trains
    torch.testing.assert_close(compiled, eager, rtol=LOSS_RTOL[backend], atol=0)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize('name', MODELS)
def test_no_graph_breaks_in_the_forward(name):
    torch._dynamo.reset()
    x = torch.randint(0, TINY['vocab_size'], (2, TINY['block_size']))
    explained = torch._dynamo.explain(build(name))(x, x)
    assert explained.graph_break_count == 0, [str(r.reason).splitlines()[0] for r in explained.break_reasons]
    assert explained.graph_count == 1
