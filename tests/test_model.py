"""model.py: the Linear factory, every variant's contract, accounting, and KV-cache generation."""
import math

import pytest
import torch

from model import (GPT, GPTConfig, VARIANTS, ConfigError, RMSNorm, RMSNormFn, Relu2Fn, Rotary, VariantLinear,
                   init_std, make_linear, resolve_ranks, rotate, schedule_rank, config_from_dict)

SMALL = dict(vocab_size=64, block_size=32, n_layer=2, n_head=2, n_embd=32)
ALL_VARIANTS = sorted(VARIANTS)


def tiny(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**SMALL, **kw}))


def effective_weight(layer):
    """The dense matrix a layer computes: feed it the identity. (out, in)"""
    with torch.no_grad():
        return layer(torch.eye(layer.in_features)).T


# -- every variant honours the factory's contract ------------------------------------------------------

@pytest.mark.parametrize('variant', ALL_VARIANTS)
def test_every_variant_maps_in_features_to_out_features(variant):
    cfg = GPTConfig(**SMALL, linear=variant)
    layer = make_linear(cfg, 'mlp.fc', 0, 32, 128)
    assert isinstance(layer, VariantLinear)
    assert layer(torch.randn(3, 5, 32)).shape == (3, 5, 128)
    assert layer.n_emulated == 32 * 128


@pytest.mark.parametrize('variant', ALL_VARIANTS)
@pytest.mark.parametrize('role', ['attn.q', 'mlp.fc', 'mlp.proj'])
def test_init_gives_the_effective_weight_the_dense_std(variant, role):
    cfg = GPTConfig(**{**SMALL, 'n_embd': 128}, linear=variant)
    m, n = {'attn.q': (128, 128), 'mlp.fc': (128, 512), 'mlp.proj': (512, 128)}[role]
    torch.manual_seed(0)
    layer = make_linear(cfg, role, 0, m, n)
    std = effective_weight(layer).std().item()
    assert abs(std / init_std(cfg, role, m) - 1) < 0.15, (variant, role, std)


@pytest.mark.parametrize('variant', ALL_VARIANTS)
def test_initial_loss_is_about_ln_vocab_sanity(variant):
    """A sanity check, not an init test: the head starts at std 0.02/sqrt(n_embd), so the loss is about ln V
    whatever the body's scale (the effective-std tests check the init)."""
    model = tiny(linear=variant)
    x = torch.randint(0, 64, (4, 32), generator=torch.Generator().manual_seed(0))
    _, loss = model(x, x)
    assert abs(loss.item() - math.log(64)) < 0.1


@pytest.mark.parametrize('variant', ALL_VARIANTS)
def test_gradients_reach_exactly_the_trainable_tensors(variant):
    model = tiny(linear=variant)
    x = torch.randint(0, 64, (4, 32), generator=torch.Generator().manual_seed(0))
    _, loss = model(x, x)
    loss.backward()
    # a zero-initialised factor (LoRA's B) passes no gradient to its partner on the first step; one
    # optimizer step later every trainable tensor must get one
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    model.zero_grad()
    _, loss = model(x, x)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.requires_grad
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    for name, b in model.named_buffers():
        assert not b.requires_grad, name


@pytest.mark.parametrize('variant', ALL_VARIANTS)
def test_frozen_tensors_are_not_stored_and_rebuild_identically(variant):
    model = tiny(linear=variant)
    state = model.state_dict()
    frozen = {n: b for n, b in model.named_buffers()}
    assert not any(n in state for n in frozen if 'rotary' not in n)
    torch.manual_seed(123)  # a different global RNG: frozen tensors must come from their own seeds
    rebuilt = GPT(config_from_dict({**SMALL, 'linear': variant}))
    rebuilt.load_state_dict(state)
    for n, b in rebuilt.named_buffers():
        assert torch.equal(b, frozen[n]), n
    x = torch.randint(0, 64, (2, 16))
    assert torch.equal(model(x)[0], rebuilt(x)[0])


# -- counts ------------------------------------------------------------------------------------------

def test_dense_counts_by_hand():
    model = tiny()
    c = model.param_counts()
    d, L, V = 32, 2, 64
    blocks = L * (4 * d * d + 2 * 4 * d * d)
    norms = L * 2 * d + d
    assert c['trainable_nonembedding'] == blocks + norms
    assert c['trainable_embedding'] == 2 * V * d
    assert c['emulated_nonembedding'] == blocks
    assert c['frozen'] == 0
    assert c['checkpoint_bytes'] == 4 * c['trainable']


def test_lowrank_counts_with_a_schedule_and_a_list():
    # attn: explicit ranks per layer; mlp: 0.5 of break-even (0.8 * 32 = 25.6 -> 13) decreasing by halving
    model = tiny(linear='lowrank', attn_rank=[8, 3], mlp_rank=0.5, rank_schedule='decreasing')
    d = 32
    attn = 4 * (8 * 2 * d) + 4 * (3 * 2 * d)
    mlp = 2 * (13 * (d + 4 * d)) + 2 * (6 * (d + 4 * d))     # fc and proj at ranks 13, then 6
    assert resolve_ranks(model.config, 'mlp.fc', d, 4 * d) == [13, 6]
    c = model.param_counts()
    assert c['trainable_nonembedding'] == attn + mlp + 2 * 2 * d + d
    assert c['emulated_nonembedding'] == 2 * (4 * d * d + 8 * d * d)


def test_lora_and_frozen_counts():
    d = 32
    lora = tiny(linear='lora', attn_rank=4, mlp_rank=4).param_counts()
    assert lora['trainable_nonembedding'] == 2 * (4 * 4 * 2 * d + 2 * 4 * 5 * d) + 5 * d
    assert lora['frozen'] == 2 * 12 * d * d
    frozen = tiny(linear='frozen').param_counts()
    assert frozen['trainable_nonembedding'] == 5 * d   # only the norms
    assert frozen['frozen'] == 2 * 12 * d * d


@pytest.mark.parametrize('variant', ALL_VARIANTS)
def test_every_variant_answers_the_accounting_questions(variant):
    """param_counts and flops_per_token ask every module the same questions, with no per-variant special case:
    the per-family rows (with the intrinsic vector's own row) add up to the model's totals."""
    model = tiny(linear=variant, intrinsic_dim=8, basis_dim=4)
    for _, _, m in model.variant_modules():
        assert 0 <= m.n_frozen_per_step <= m.n_frozen
        assert m.n_emulated == m.in_features * m.out_features
        assert min(m.flops_fwd(1), m.flops_bwd(1, True), m.flops_step()) >= 0
    c = model.param_counts()
    norms = 2 * 2 * 32 + 32
    assert sum(v[0] for v in c['families'].values()) + norms == c['trainable_nonembedding']
    assert sum(v[1] for v in c['families'].values()) == c['frozen']
    assert sum(v[2] for v in c['families'].values()) == c['emulated_nonembedding']
    if variant == 'intrinsic':  # one shared vector, built by the model's factory and registered once
        assert c['families']['intrinsic:alpha'] == [8, 0, 0]
        assert {id(m.shared[0]) for _, _, m in model.variant_modules()} == {id(model.intrinsic)}


def test_per_family_variants():
    model = tiny(attn_linear='frozen', mlp_linear='lowrank', mlp_rank=4)
    kinds = {role: type(m).__name__ for _, role, m in model.variant_modules()}
    assert kinds['attn.q'] == 'FrozenLinear' and kinds['mlp.fc'] == 'LowRankLinear'


# -- rank schedules ----------------------------------------------------------------------------------

@pytest.mark.parametrize('schedule,expected', [
    ('constant', [64, 64, 64, 64]),
    ('increasing', [8, 16, 32, 64]),
    ('decreasing', [64, 32, 16, 8]),
    ('linear', [64, 45, 27, 8]),
    ('step', [64, 64, 8, 8]),
    ('exponential', [64, 32, 16, 8]),
    ('neg_quadratic', [64, 58, 39, 8]),
])
def test_rank_schedules(schedule, expected):
    assert [schedule_rank(schedule, 64, 8, l, 4) for l in range(4)] == expected


def test_float_rank_is_a_fraction_of_break_even():
    cfg = GPTConfig(**SMALL, linear='lowrank', attn_rank=1.0, mlp_rank=0.25)
    assert resolve_ranks(cfg, 'attn.q', 32, 32) == [16, 16]          # 32*32/64
    assert resolve_ranks(cfg, 'mlp.fc', 32, 128) == [6, 6]           # 0.25 * 25.6


@pytest.mark.parametrize('kw,message', [
    (dict(attn_rank=[4]), 'one rank per layer'),
    (dict(attn_rank=0), 'at least 1'),
    (dict(attn_rank=33), 'outside [1, 32]'),
    (dict(attn_rank=1.5), 'in (0, 1]'),
    (dict(rank_schedule='cubic'), 'not one of constant'),
])
def test_bad_ranks_are_explained(kw, message):
    with pytest.raises(ConfigError, match=message.replace('[', r'\[').replace('(', r'\(').replace(')', r'\)')):
        tiny(linear='lowrank', **kw)


def test_bad_shapes_are_explained():
    with pytest.raises(ConfigError, match='not divisible by n_head'):
        tiny(n_embd=30, n_head=4)
    with pytest.raises(ConfigError, match="valid: dense"):
        tiny(linear='sparse')


# -- accounting --------------------------------------------------------------------------------------

def test_dense_actual_flops_are_6n_plus_attention_plus_head():
    model = tiny()
    f, c = model.flops_per_token(), model.param_counts()
    attention = 12 * 32 * 32 * 2
    head = 6 * 64 * 32
    assert f['C_train'] == 6 * c['trainable_nonembedding']
    assert f['C_actual'] == 6 * c['emulated_nonembedding'] + attention + head


def test_frozen_layers_cost_no_weight_gradient():
    dense, frozen = tiny().flops_per_token(), tiny(linear='frozen').flops_per_token()
    emulated = 2 * 12 * 32 * 32
    assert dense['C_actual'] - frozen['C_actual'] == 2 * emulated   # 6N vs 4N per frozen weight
    assert frozen['C_train'] == 6 * 5 * 32


# -- generation --------------------------------------------------------------------------------------

@pytest.mark.parametrize('kw', [dict(linear='dense'), dict(linear='lora'),
                                dict(n_layer=3, doped=True, doped_layer='block')],  # a frozen layer keeps a cache too
                         ids=['dense', 'lora', 'doped_block'])
def test_kv_cache_generation_equals_full_recompute(kw):
    model = tiny(**kw, block_size=64).eval()
    # make the model non-trivial so greedy decoding is not constant
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    prompt = torch.randint(0, 64, (2, 5), generator=torch.Generator().manual_seed(1))
    cached = torch.cat(list(model.generate(prompt, 40, temperature=0)), dim=1)
    x = prompt
    with torch.no_grad():
        for _ in range(40):
            logits, _ = model(x[:, -64:])
            x = torch.cat((x, logits[:, -1].argmax(-1, keepdim=True)), dim=1)
    assert torch.equal(cached, x[:, 5:])


def test_generation_runs_past_block_size():
    model = tiny(block_size=16).eval()
    out = list(model.generate(torch.zeros(1, 3, dtype=torch.long), 50, temperature=1.0, top_k=10, top_p=0.9))
    assert len(out) == 50 and all(0 <= t.item() < 64 for t in out)


# -- layer structure ---------------------------------------------------------------------------------

def test_tied_embeddings_are_counted_once():
    c = tiny(tie_embeddings=True).param_counts()
    assert c['trainable_embedding'] == 64 * 32


# -- doping, sharing, factorized embeddings (LightOn, ALBERT) -----------------------------------------

def test_doped_layers_alternate_and_are_frozen_mlps():
    model = tiny(n_layer=5, doped=True)
    assert model.pattern == 'TFTFT'
    d, V = 32, 64
    c = model.param_counts()
    trainable_block = 12 * d * d + 2 * d
    assert c['trainable_nonembedding'] == 3 * trainable_block + d
    assert c['frozen'] == 2 * (2 * d * 6 * d)              # two frozen MLPs of width 6d
    assert c['emulated_nonembedding'] == 3 * 12 * d * d + 2 * 12 * d * d
    assert tiny(n_layer=4, doped='TFFT').pattern == 'TFFT'


def test_frozen_mlp_layers_get_no_gradient_and_rebuild_identically():
    model = tiny(n_layer=3, doped=True)
    x = torch.randint(0, 64, (2, 16))
    _, loss = model(x, x)
    loss.backward()
    frozen_layer = model.h['1']
    assert list(frozen_layer.parameters()) == []
    rebuilt = tiny(n_layer=3, doped=True)
    rebuilt.load_state_dict(model.state_dict())
    assert torch.equal(frozen_layer.mlp.fc.W0, rebuilt.h['1'].mlp.fc.W0)


@pytest.mark.parametrize('share,unique', [('all', 1), (2, 2), ('none', 4)])
def test_shared_blocks_are_stored_and_optimised_once(share, unique):
    model = tiny(n_layer=4, share=share)
    assert len(model.h) == unique
    d = 32
    assert model.param_counts()['trainable_nonembedding'] == unique * (12 * d * d + 2 * d) + d
    assert model.param_counts()['emulated_nonembedding'] == 4 * 12 * d * d    # used by every layer
    n_state = sum(1 for k in model.state_dict() if k.startswith('h.'))
    assert n_state == unique * len([k for k in tiny(n_layer=1).state_dict() if k.startswith('h.')])
    n_opt = sum(len(g['params']) for g in model.optim_groups(0.1))
    assert n_opt == len(list(model.parameters()))
    # compute is paid per use: sharing changes C_train, not C_actual
    assert model.flops_per_token()['C_actual'] == tiny(n_layer=4).flops_per_token()['C_actual']


def test_shared_gradient_is_the_sum_of_per_use_gradients():
    shared = tiny(n_layer=2, share='all')
    copies = tiny(n_layer=2)
    with torch.no_grad():
        for p_copy0, p_copy1, p_shared in zip(copies.h['0'].parameters(), copies.h['1'].parameters(),
                                              shared.h['0'].parameters()):
            p_copy0.copy_(p_shared)
            p_copy1.copy_(p_shared)
        for name in ('wte.weight', 'lm_head.weight', 'ln_f.weight'):
            copies.get_parameter(name).copy_(shared.get_parameter(name))
    x = torch.randint(0, 64, (2, 16))
    shared(x, x)[1].backward()
    copies(x, x)[1].backward()
    for (name, ps), p0, p1 in zip(shared.h['0'].named_parameters(), copies.h['0'].parameters(),
                                  copies.h['1'].parameters()):
        torch.testing.assert_close(ps.grad, p0.grad + p1.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_factorized_embeddings_count_as_embedding_parameters():
    model = tiny(embd_dim=8)
    c = model.param_counts()
    assert c['trainable_embedding'] == 64 * 8 + 8 * 32 + 64 * 32
    tied = tiny(embd_dim=8, tie_embeddings=True).param_counts()
    assert tied['trainable_embedding'] == 64 * 8 + 8 * 32     # the head mirrors wte and the projection
    x = torch.randint(0, 64, (2, 16))
    assert tiny(embd_dim=8, tie_embeddings=True)(x)[0].shape == (2, 16, 64)


def test_flops_of_doped_and_shared_models_by_hand():
    d, T, V = 32, 32, 64
    attention, head = 12 * d * T, 6 * V * d
    doped = tiny(n_layer=3, doped=True).flops_per_token()
    # two trainable blocks at 6 per weight, one frozen MLP at 4 (forward + input gradient), attention twice
    assert doped['C_actual'] == 2 * (6 * 12 * d * d + attention) + 4 * 2 * d * 6 * d + head
    assert doped['C_frozen_2_3'] == 6 * (2 * (12 * d * d + 2 * d) + d) + 4 * 2 * d * 6 * d
    shared = tiny(n_layer=3, share='all').flops_per_token()
    assert shared['C_actual'] == 3 * (6 * 12 * d * d + attention) + head
    assert shared['C_train'] == 6 * (12 * d * d + 2 * d + d)


# -- the fused ops of the block equal the plain formulas ------------------------------------------------

def reference_attention_and_mlp_inputs(block, x):
    """The block's function written plainly: separate q, k, v matmuls, F.rms_norm, rotary by chunk/cat (+θ on the
    halves (x1, x2)), relu(h)^2. Returns (attention output, MLP activation of the same x)."""
    F = torch.nn.functional
    a = block.attn
    B, T, C = x.shape
    heads = lambda t: t.view(B, T, a.n_head, a.head_dim).transpose(1, 2)
    cos, sin = a.rotary.C[:T, 0], -a.rotary.S[:T, 0]                    # (T, hd/2)

    def rotate(t):
        t1, t2 = t.chunk(2, dim=-1)
        return torch.cat((t1 * cos - t2 * sin, t1 * sin + t2 * cos), dim=-1)
    norm = lambda t: F.rms_norm(t, (t.size(-1),))
    q, k, v = heads(x @ a.q.weight.T), heads(x @ a.k.weight.T), heads(x @ a.v.weight.T)
    y = F.scaled_dot_product_attention(rotate(norm(q)), rotate(norm(k)), v, is_causal=True)
    attn = y.transpose(1, 2).reshape(B, T, C) @ a.o.weight.T
    return attn, F.relu(x @ block.mlp.fc.weight.T) ** 2


def test_fused_qkv_norm_rotary_and_relu2_equal_the_plain_formulas():
    model = tiny().double()
    block = model.h['0']
    assert block.attn.dense_qkv
    x = torch.randn(3, 16, 32, dtype=torch.float64, requires_grad=True)
    ref_attn, ref_act = reference_attention_and_mlp_inputs(block, x)
    attn, act = block.attn(x), Relu2Fn.apply(block.mlp.fc(x))
    torch.testing.assert_close(attn, ref_attn)
    torch.testing.assert_close(act, ref_act)
    g1, g2 = torch.randn_like(attn), torch.randn_like(act)
    got = torch.autograd.grad((attn * g1).sum() + (act * g2).sum(), [x] + list(block.parameters()), allow_unused=True)
    want = torch.autograd.grad((ref_attn * g1).sum() + (ref_act * g2).sum(), [x] + list(block.parameters()),
                               allow_unused=True)
    for a, b in zip(got, want):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b)


def test_rotate_in_halves_gives_the_flip_formulas_floats_bit_for_bit():
    """rotate() replaced addcmul(x ⊙ C, flip(x), S): the same kernel on the same operands, so every result trained
    before the change reproduces to the bit."""
    for shape, hd in (((3, 16, 2, 4, 32), 32), ((2, 9, 4, 64), 64)):
        rot = Rotary(hd, 16)
        view = (shape[1],) + (1,) * (len(shape) - 3) + (2, -1)
        C, S = rot.C[:shape[1]].view(view), rot.S[:shape[1]].view(view)
        x = (torch.randn(shape) * 3).unflatten(-1, (2, -1))
        for sign in (1, -1):
            assert torch.equal(rotate(x, C, S, sign), torch.addcmul(x * C, x.flip(-2), S, value=sign))


@pytest.mark.parametrize('variant', ALL_VARIANTS)
def test_a_variant_with_fresh_output_returns_a_tensor_relu2_may_write_into(variant):
    """fresh_output=True promises a new tensor, no view: Relu2Fn writes relu(h)^2 into it (marking it dirty)."""
    layer = make_linear(GPTConfig(**SMALL, linear=variant), 'mlp.fc', 0, 32, 128)
    h = layer(torch.randn(3, 5, 32, requires_grad=True))
    if layer.fresh_output:
        assert h._base is None
    else:  # a view: the MLP hands Relu2Fn a copy
        assert h._base is not None


def test_relu2_in_place_gives_the_out_of_place_floats_bit_for_bit():
    """relu(h)^2 written into h, and 2 relu(h) g into relu(h)'s buffer: the floats of relu(h) * relu(h) and
    (relu(h) * g) * 2, so results trained before the in-place version reproduce."""
    h0 = torch.randn(4, 7, 64) * 3
    g = torch.randn(4, 7, 64)
    h = h0.clone().requires_grad_()
    x = h * 1                                       # a non-leaf, as fc(x) is
    y = Relu2Fn.apply(x)
    assert y.data_ptr() == x.data_ptr()             # written in place
    y.backward(g)
    r = torch.relu(h0)
    assert torch.equal(y.detach(), r * r)
    assert torch.equal(h.grad, (r * g).mul_(2))


def test_relu2_refuses_a_second_backward_through_its_spent_buffer():
    h = torch.randn(3, 8, requires_grad=True)
    y = Relu2Fn.apply(h * 1).sum()
    y.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match='modified by an inplace operation'):
        y.backward()


@pytest.mark.parametrize('weighted', [True, False])
def test_rms_norm_backward_in_reused_buffers_gives_the_plain_formulas_floats_bit_for_bit(weighted):
    """The backward computes mean(gn ⊙ n) and dx into buffers it already holds: the same floats as linalg.vecdot
    and an out-of-place addcmul, so results trained before reproduce."""
    x = (torch.randn(4, 9, 48) * 2).requires_grad_()
    w = (torch.randn(48) + 1).requires_grad_() if weighted else None
    g = torch.randn(4, 9, 48)
    RMSNormFn.apply(x, w).backward(g)
    r = torch.linalg.vector_norm(x.detach(), dim=-1, keepdim=True).square_().div_(48).add_(torch.finfo(x.dtype).eps)
    n = x.detach() * r.rsqrt_()
    gn = g if w is None else g * w.detach()
    dot = torch.linalg.vecdot(gn, n).unsqueeze(-1).div_(48)
    assert torch.equal(x.grad, torch.addcmul(gn, n, dot, value=-1).mul_(r))
    if weighted:
        assert torch.equal(w.grad, (g * n).flatten(0, -2).sum(0))


@pytest.mark.parametrize('m, rot, dtype', [(3, 2, torch.float32), (1, 1, torch.float32), (3, 2, torch.bfloat16)])
def test_norm_rotary_in_place_gives_the_out_of_place_floats_bit_for_bit(m, rot, dtype):
    """QK-norm and rotary written into the matmul's own buffer (q, k of a fused qkv, or one of q, k): the floats of
    the out-of-place ops, forward and backward, in fp32 and (computed in fp32, rounded once) bf16; the unrotated
    heads (v) and their gradient pass untouched, and the caller's gradient is not written to."""
    B, T, nh, hd = 3, 16, 2, 8
    rotary = Rotary(hd, T)
    x0 = (torch.randn(B, T, m * nh * hd) * 3).to(dtype)
    g0 = torch.randn(B, T, m * nh * hd).to(dtype)
    x = x0.clone().requires_grad_()
    h = x * 1                                                           # a fresh non-leaf, as a matmul's output
    y = rotary(h, 0, nh, rot)
    assert y.data_ptr() == h.data_ptr()
    y.backward(g1 := g0.clone())
    assert torch.equal(g1, g0)
    C, S = rotary.C[:T].view(T, 1, 1, 2, -1), rotary.S[:T].view(T, 1, 1, 2, -1)
    heads = lambda t: t.view(B, T, m, nh, hd)
    xs = heads(x0)[:, :, :rot].float()
    r = torch.linalg.vector_norm(xs, dim=-1, keepdim=True).square_().div_(hd).add_(torch.finfo(dtype).eps).rsqrt_()
    n = (xs * r).unflatten(-1, (2, -1))
    want = heads(x0).clone()
    want[:, :, :rot] = rotate(n, C, S, 1).flatten(-2)
    assert torch.equal(heads(y.detach()), want)
    gn = rotate(heads(g0)[:, :, :rot].float().unflatten(-1, (2, -1)), C, S, -1).flatten(-2)
    n = n.flatten(-2)
    dot = torch.linalg.vecdot(gn, n).unsqueeze(-1).div_(hd)
    want = heads(g0).clone()
    want[:, :, :rot] = torch.addcmul(gn, n, dot, value=-1).mul_(r)
    assert torch.equal(heads(x.grad), want)


def test_rms_norm_equals_torch_rms_norm_with_its_gradients():
    x = torch.randn(4, 5, 24, dtype=torch.float64, requires_grad=True)
    m = RMSNorm(24).double()
    with torch.no_grad():
        m.weight.normal_()
    ref = torch.nn.RMSNorm(24).double()
    ref.load_state_dict(m.state_dict())
    g = torch.randn(4, 5, 24, dtype=torch.float64)
    got = torch.autograd.grad((m(x) * g).sum(), (x, m.weight))
    want = torch.autograd.grad((ref(x) * g).sum(), (x, ref.weight))
    torch.testing.assert_close(m(x), ref(x))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(lambda t: m(t), (x[:1, :2],))
