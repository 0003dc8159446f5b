"""model.py's set-ups from the source papers: the pure random basis and its α inits, SAID inside its d budget,
doping with a whole frozen decoder layer, the block-diagonal MLP with one Hadamard between its matrices, sharing only
the attention or the MLP, memory_report, and the dense model matched to a trainable count."""
import math

import pytest
import torch

from kernels.hadamard import sylvester
from model import (GPT, GPTConfig, ConfigError, BasisLinear, IntrinsicLinear, init_std, make_linear, matched_dense,
                   trainable_nonembedding)

SMALL = dict(vocab_size=64, block_size=32, n_layer=2, n_head=2, n_embd=32)


def tiny(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**SMALL, **kw}))


def uses(model, cls):
    return [m for _, _, m in model.variant_modules() if isinstance(m, cls)]


def effective_weight(layer):
    with torch.no_grad():
        return layer(torch.eye(layer.in_features, dtype=torch.float64 if layer.weight.dtype == torch.float64
                               else torch.float32)).T


# -- random bases: the pure form -----------------------------------------------------------------------

@pytest.mark.parametrize('init', ['normal', 'equal'])
def test_pure_basis_has_no_W0_and_starts_at_the_dense_std(init):
    model = tiny(linear='basis', basis_form='pure', basis_alpha_init=init, basis_dim=8, basis_projection='fft')
    layers = uses(model, BasisLinear)
    for _, role, m in model.variant_modules():
        assert not hasattr(m, 'W0')
        # fft columns are exactly orthonormal: ||W||_F = ||α|| = std sqrt(D) exactly
        W = m.weight().detach()
        std = init_std(model.config, role, m.in_features)
        torch.testing.assert_close(W.pow(2).mean().sqrt().item(), std, rtol=1e-4, atol=0)
    alpha = layers[0].alpha.detach()
    assert torch.allclose(alpha, alpha[0].expand_as(alpha)) == (init == 'equal')


def test_pure_basis_dense_projection_is_near_the_dense_std():
    model = tiny(linear='basis', basis_form='pure', basis_dim=16)
    for _, role, m in model.variant_modules():
        ratio = m.weight().detach().std().item() / init_std(model.config, role, m.in_features)
        assert 0.85 < ratio < 1.15, (role, ratio)


def test_pure_basis_counts_and_flops_drop_W0():
    offset, pure = tiny(linear='basis', basis_dim=8), tiny(linear='basis', basis_dim=8, basis_form='pure')
    D = sum(m.n_emulated for m in uses(offset, BasisLinear))
    co, cp = offset.param_counts(), pure.param_counts()
    assert cp['trainable'] == co['trainable']
    assert co['frozen'] - cp['frozen'] == D                          # no W0: only the directions, 8 D
    assert cp['frozen'] == 8 * D
    fo, fp = offset.flops_per_token(), pure.flops_per_token()
    assert fo['step'] - fp['step'] == D                              # no W0 + ΔW addition
    assert fp['C_actual'] == fo['C_actual']
    assert fp['C_frozen_2_3'] == fp['C_train']                       # a token meets no frozen weight


def test_pure_basis_rebuilds_from_its_state_dict_and_trains_alpha():
    model = tiny(linear='basis', basis_form='pure', basis_dim=4)
    sd = model.state_dict()
    assert not any('W0' in k for k in sd)
    torch.manual_seed(123)                                            # another α draw, overwritten by the load
    rebuilt = GPT(GPTConfig(**SMALL, linear='basis', basis_form='pure', basis_dim=4))
    rebuilt.load_state_dict(sd)
    for a, b in zip(uses(model, BasisLinear), uses(rebuilt, BasisLinear)):
        assert torch.equal(a.weight(), b.weight())
    x = torch.randint(0, 64, (2, 16))
    model(x, x)[1].backward()
    assert all(m.alpha.grad is not None and m.alpha.grad.abs().sum() > 0 for m in uses(model, BasisLinear))


# -- SAID inside Aghajanyan's budget ------------------------------------------------------------------

@pytest.mark.parametrize('projection,cache', [('fastfood', False), ('fft', True), ('dense', False)])
def test_said_takes_its_scales_out_of_d(projection, cache):
    d, tensors = 40, 2 * 6                     # 6 weight tensors per layer, 2 layers
    model = tiny(linear='intrinsic', intrinsic_dim=d, intrinsic_said=True, intrinsic_projection=projection,
                 basis_cache=cache)
    n = 32
    assert model.intrinsic.alpha.numel() == d - tensors
    assert all(m.d == d - tensors for m in uses(model, IntrinsicLinear))
    assert model.param_counts()['trainable_nonembedding'] == d + 2 * 2 * n + n      # d in total, plus the norms
    plain = tiny(linear='intrinsic', intrinsic_dim=d, intrinsic_projection=projection)
    assert plain.param_counts()['trainable_nonembedding'] == d + 2 * 2 * n + n      # same budget without SAID
    # α and every λ get a gradient at a generic point
    with torch.no_grad():
        model.intrinsic.alpha.normal_()
    x = torch.randint(0, 64, (2, 16))
    model(x, x)[1].backward()
    assert model.intrinsic.alpha.grad.abs().sum() > 0
    assert all(m.lam.grad is not None for m in uses(model, IntrinsicLinear))


def test_said_with_a_budget_below_its_scales_is_explained():
    with pytest.raises(ConfigError, match='intrinsic_dim=12 with intrinsic_said=True must exceed the 12'):
        tiny(linear='intrinsic', intrinsic_dim=12, intrinsic_said=True)


# -- LightOn: a whole frozen decoder layer, the block-diagonal MLP of the figure ------------------------

def test_doped_block_is_a_frozen_attention_and_mlp_layer():
    model = tiny(n_layer=3, doped=True, doped_layer='block')
    assert model.pattern == 'TFT'
    frozen = model.h['1']
    assert list(frozen.parameters()) == []
    d = 32
    c = model.param_counts()
    assert c['frozen'] == 12 * d * d                                  # 4 d^2 attention + 2 * 4 d^2 MLP (mlp_ratio)
    assert c['trainable_nonembedding'] == 2 * (12 * d * d + 2 * d) + d
    assert c['emulated_nonembedding'] == 3 * 12 * d * d
    # C_actual: three layers' attention, a frozen layer's forward + input gradient (4 per weight)
    T, V = 32, 64
    assert model.flops_per_token()['C_actual'] == 2 * 6 * 12 * d * d + 3 * 12 * d * T + 4 * 12 * d * d + 6 * V * d
    rebuilt = tiny(n_layer=3, doped=True, doped_layer='block')
    rebuilt.load_state_dict(model.state_dict())
    assert torch.equal(frozen.attn.q.W0, rebuilt.h['1'].attn.q.W0)
    assert not any(k.startswith('h.1.') for k in model.state_dict())


def test_blockdiag_between_has_one_hadamard_between_the_two_matrices():
    cfg = GPTConfig(**SMALL, mlp_linear='blockdiag', blocks=4, blockdiag_mix='between')
    fc, proj = make_linear(cfg, 'mlp.fc', 0, 32, 128).double(), make_linear(cfg, 'mlp.proj', 0, 128, 32).double()
    Hb = sylvester(4) / 2
    assert fc.mix and not proj.mix
    torch.testing.assert_close(effective_weight(fc), torch.kron(Hb, torch.eye(32, dtype=torch.float64))
                               @ torch.block_diag(*fc.weight.detach()))
    torch.testing.assert_close(effective_weight(proj), torch.block_diag(*proj.weight.detach()))
    # the block-diagonal matrix alone already has the dense variance
    big = make_linear(cfg, 'mlp.proj', 0, 1024, 256)
    assert abs(effective_weight(big).pow(2).mean().sqrt().item() / init_std(cfg, 'mlp.proj', 1024) - 1) < 0.05
    # FLOPs: the proj pays no Hadamard
    assert proj.flops_fwd(10) == 10 * 2 * 128 * 32 // 4
    assert proj.flops_bwd(10, True) == 10 * 4 * 128 * 32 // 4
    each = tiny(mlp_linear='blockdiag', blocks=4).flops_per_token()['C_actual']
    between = tiny(mlp_linear='blockdiag', blocks=4, blockdiag_mix='between').flops_per_token()['C_actual']
    assert each - between == 2 * 2 * 32 * 2                          # per layer: proj's 32 outputs x log2(4), fwd + bwd
    assert tiny(mlp_linear='blockdiag', blockdiag_mix='between').param_counts() == \
        tiny(mlp_linear='blockdiag').param_counts()


# -- ALBERT: sharing only the attention or only the MLP --------------------------------------------------

@pytest.mark.parametrize('what', ['attn', 'mlp'])
def test_sharing_only_one_part_stores_it_once_and_counts_it_per_use(what):
    d, L = 32, 4
    model = tiny(n_layer=L, share='all', share_what=what)
    shared_weights = {'attn': 4 * d * d, 'mlp': 8 * d * d}[what]
    c = model.param_counts()
    assert c['trainable_nonembedding'] == L * (12 * d * d + 2 * d) - (L - 1) * shared_weights + d
    assert c['emulated_nonembedding'] == L * 12 * d * d
    assert all(getattr(model.h[str(l)], what) is getattr(model.h['0'], what) for l in range(L))
    other = 'mlp' if what == 'attn' else 'attn'
    assert getattr(model.h['1'], other) is not getattr(model.h['0'], other)
    assert sum(len(g['params']) for g in model.optim_groups(0.1)) == len(list(model.parameters()))
    assert model.flops_per_token()['C_actual'] == tiny(n_layer=L).flops_per_token()['C_actual']
    # the state dict round-trips; the shared module's gradient sums its uses
    rebuilt = tiny(n_layer=L, share='all', share_what=what)
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randint(0, 64, (2, 16))
    assert torch.equal(rebuilt(x)[0], model(x)[0])
    model(x, x)[1].backward()
    assert getattr(model.h['3'], what).parameters().__next__().grad is not None


def test_sharing_attention_in_pairs():
    model = tiny(n_layer=4, share=2, share_what='attn')
    assert [id(model.h[str(l)].attn) for l in range(4)] == [id(model.h['0'].attn)] * 2 + [id(model.h['2'].attn)] * 2


# -- memory: the model's own bytes -----------------------------------------------------------------------

def test_memory_report_counts_weights_grads_adam_state_and_saved_activations():
    model = tiny()
    n = sum(p.numel() for p in model.parameters())
    x = torch.randint(0, 64, (2, 16))
    empty = model.memory_report()
    assert empty['param_bytes'] == 4 * n and empty['grad_bytes'] == 0 and empty['optimizer_bytes'] == 0
    opt = torch.optim.AdamW(model.parameters())
    model(x, x)[1].backward()
    opt.step()
    m = model.memory_report([opt], x)
    assert m['grad_bytes'] == 4 * n
    assert 8 * n <= m['optimizer_bytes'] <= 8 * n + 8 * len(list(model.parameters()))   # exp_avg, exp_avg_sq, step
    assert m['activation_bytes_per_token'] > 4 * 32                 # at least a residual stream per token
    torch.manual_seed(5)
    model.memory_report(idx=x)
    after = torch.rand(1)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(1))                          # the measuring forward draws nothing
    assert model.memory_report(idx=x)['activation_bytes_per_token'] == m['activation_bytes_per_token']
    # a frozen model saves no weight gradients and holds its frozen weights as buffers
    frozen = tiny(linear='frozen').memory_report()
    assert frozen['buffer_bytes'] >= 4 * 2 * 12 * 32 * 32


# -- the dense model with a low-rank model's trainable count -------------------------------------------

def test_matched_dense_picks_the_nearest_depth_and_width():
    d = 32
    block = 12 * d * d + 2 * d
    low = trainable_nonembedding(**{**SMALL, 'n_layer': 8}, linear='lowrank', attn_rank=0.5, mlp_rank=0.5)
    L = matched_dense(low, 'n_layer', **SMALL)['n_layer']
    assert abs(L * block + d - low) <= min(abs(l * block + d - low) for l in range(1, 20))
    assert matched_dense(3 * block + d, 'n_layer', **SMALL) == {'n_layer': 3}
    w = matched_dense(low, 'n_embd', **SMALL)['n_embd']
    count = lambda h: SMALL['n_layer'] * (12 * h * h + 2 * h) + h
    assert w % 4 == 0 and all(abs(count(w) - low) <= abs(count(h) - low) for h in range(4, 200, 4))
    with pytest.raises(ConfigError, match="vary='n_head'"):
        matched_dense(low, 'n_head', **SMALL)


# -- bad values -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('key,value', [('basis_form', 'offest'), ('basis_alpha_init', 'zero'),
                                       ('blockdiag_mix', 'both'), ('share_what', 'norms'),
                                       ('doped_layer', 'attn')])
def test_bad_setup_keys_are_one_line_errors(key, value):
    with pytest.raises(ConfigError, match=f"{key}='{value}' is not one of") as e:
        tiny(**{key: value})
    assert '\n' not in str(e.value)


# -- ALBERT: the factorized embedding and its tied head ------------------------------------------------

def test_tied_factorized_head_goes_through_the_bottleneck_and_its_flops_count_it():
    d, V, E, T = 32, 64, 8, 32
    tied = tiny(embd_dim=E, tie_embeddings=True)
    x = torch.randint(0, 64, (2, 16))
    h = torch.randn(2, 16, d)
    expected = (tied.ln_f(h) @ tied.embd_proj.weight) @ tied.wte.weight.T       # H -> E -> V
    torch.testing.assert_close(tied.logits(h), expected)
    body = 2 * (6 * 12 * d * d + 12 * d * T)
    assert tied.flops_per_token()['C_actual'] == body + 6 * (d * E + E * V) + 6 * E * d
    untied = tiny(embd_dim=E)                                                   # the head stays H -> V
    assert untied.lm_head.weight.shape == (V, d)
    assert untied.flops_per_token()['C_actual'] == body + 6 * V * d + 6 * E * d
