"""model.py's structured variants: Adaptive Fastfood (S H G Π H B) and block-diagonal + block-Hadamard."""
import math

import pytest
import torch

from model import GPT, GPTConfig, ConfigError, FastfoodLinear, BlockDiagLinear, init_std, make_linear, \
    config_from_dict

SMALL = dict(vocab_size=64, block_size=32, n_layer=2, n_head=2, n_embd=96)   # 96: Fastfood pads to 128
SHAPES = [(96, 96), (96, 384), (384, 96), (128, 200)]                       # (in, out): square, up, down, ragged


def tiny(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**SMALL, **kw}))


def layer(variant, in_features, out_features, role='mlp.fc', **kw):
    torch.manual_seed(0)
    return make_linear(GPTConfig(**{**SMALL, **kw}, linear=variant), role, 0, in_features, out_features)


def effective_weight(m):
    """The dense matrix a layer computes: feed it the identity. (out, in)"""
    with torch.no_grad():
        return m(torch.eye(m.in_features, dtype=next(m.parameters()).dtype)).T


def sylvester(n):
    """Sylvester's Hadamard matrix built from its definition, H[i, j] = (-1)^popcount(i & j), unnormalised."""
    i = torch.arange(n)
    bits = torch.bitwise_and(i[:, None], i[None, :])
    parity = torch.zeros_like(bits)
    while bits.any():
        parity ^= bits & 1
        bits = bits >> 1
    return (1 - 2 * parity).double()


# -- both variants -----------------------------------------------------------------------------------

@pytest.mark.parametrize('variant', ['fastfood', 'blockdiag'])
@pytest.mark.parametrize('shape', SHAPES)
def test_maps_in_features_to_out_features(variant, shape):
    m = layer(variant, *shape, blocks=8)
    assert m(torch.randn(3, 5, shape[0])).shape == (3, 5, shape[1])
    assert m.n_emulated == shape[0] * shape[1]


@pytest.mark.parametrize('variant', ['fastfood', 'blockdiag'])
@pytest.mark.parametrize('role', ['attn.q', 'mlp.fc', 'mlp.proj'])
def test_effective_weight_has_the_dense_init_std(variant, role):
    in_features, out_features = {'attn.q': (96, 96), 'mlp.fc': (96, 384), 'mlp.proj': (384, 96)}[role]
    W = effective_weight(layer(variant, in_features, out_features, role))
    dense_std = init_std(GPTConfig(**SMALL), role, in_features)
    assert abs(W.std().item() / dense_std - 1) < 0.15
    assert (W != 0).all()  # the effective weight is dense: every output sees every input


@pytest.mark.parametrize('kw', [dict(linear='fastfood'), dict(linear='blockdiag'), dict(linear='fastfood', n_embd=128),
                                dict(attn_linear='fastfood', mlp_linear='blockdiag')])
def test_initial_loss_is_ln_vocab(kw):
    model = tiny(**kw)
    x = torch.randint(0, 64, (4, 32), generator=torch.Generator().manual_seed(0))
    _, loss = model(x, x)
    assert abs(loss.item() - math.log(64)) < 0.1


def test_gradients_reach_exactly_the_trainable_tensors():
    model = tiny(attn_linear='fastfood', mlp_linear='blockdiag')
    x = torch.randint(0, 64, (4, 32), generator=torch.Generator().manual_seed(0))
    model(x, x)[1].backward()
    names = {n for n, _ in model.named_parameters()}
    assert {'h.0.attn.q.S', 'h.0.attn.q.G', 'h.0.attn.q.B', 'h.0.mlp.fc.weight'} <= names
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        if name.endswith(('.S', '.G', '.B')):
            assert (p.grad != 0).all(), name  # every diagonal entry reaches the output (nothing padded or sliced)
    buffers = dict(model.named_buffers())
    assert 'h.0.attn.q.perm' in buffers and 'h.0.attn.q.perm' not in names
    assert not any(b.requires_grad for b in buffers.values())


def test_permutation_is_not_stored_and_rebuilds_identically():
    kw = dict(SMALL, attn_linear='fastfood', mlp_linear='fastfood')
    model = tiny(**kw)
    state = model.state_dict()
    assert not any(k.endswith('perm') for k in state)
    torch.manual_seed(123)  # a different global RNG: the permutation comes from its own seed
    rebuilt = GPT(config_from_dict(kw))
    assert not torch.equal(rebuilt.h['0'].attn.q.S, model.h['0'].attn.q.S)
    rebuilt.load_state_dict(state)
    for name, b in model.named_buffers():
        assert torch.equal(b, dict(rebuilt.named_buffers())[name]), name
    x = torch.randint(0, 64, (2, 16))
    assert torch.equal(model(x)[0], rebuilt(x)[0])
    # each layer, role and block draws its own permutation, and it is one
    p = model.h['0'].mlp.fc.perm                                   # 96 -> 384: 3 blocks of 128
    assert p.shape == (3, 128) and not torch.equal(p[0], p[1])
    assert torch.equal(p.sort(dim=1).values, torch.arange(128).expand(3, 128))
    assert not torch.equal(model.h['0'].attn.q.perm, model.h['0'].attn.k.perm)
    assert not torch.equal(model.h['0'].attn.q.perm, model.h['1'].attn.q.perm)


# -- Fastfood ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('shape', SHAPES)
def test_fastfood_equals_the_explicit_S_H_G_Pi_H_B(shape):
    in_features, out_features = shape
    m = layer('fastfood', in_features, out_features).double()
    n = 1 << (in_features - 1).bit_length()
    k = -(-out_features // n)
    H = sylvester(n) / math.sqrt(n)
    S = m.S.detach()
    S = torch.cat([S, S.new_zeros(k * n - out_features)]).view(k, n)                 # rows past out: sliced away
    B = torch.cat([m.B.detach().view(k, in_features), m.B.new_zeros(k, n - in_features)], dim=1)   # zero padding
    rows = []
    for j in range(k):
        Pi = torch.eye(n, dtype=torch.float64)[m.perm[j]]                             # (Pi v)_i = v[perm[i]]
        rows.append(torch.diag(S[j]) @ H @ torch.diag(m.G.detach().view(k, n)[j]) @ Pi @ H @ torch.diag(B[j]))
    expected = torch.cat(rows)[:out_features, :in_features]
    torch.testing.assert_close(effective_weight(m), expected, rtol=1e-10, atol=1e-12)


def test_fastfood_counts_and_flops_by_hand():
    # n = next power of two of in, k = ceil(out / n) blocks; B: k x in, G: k x n, S: out (flat vectors)
    for (i, o), (n, k) in zip(SHAPES, [(128, 1), (128, 3), (512, 1), (128, 2)]):
        m = layer('fastfood', i, o)
        assert (m.B.shape, m.G.shape, m.S.shape, m.perm.shape) == ((k * i,), (k * n,), (o,), (k, n))
        assert m.n_trainable == k * i + k * n + o
        assert m.n_frozen == 0 and m.n_emulated == i * o
        log_n = int(math.log2(n))
        assert m.flops_fwd(10) == 10 * (k * i + 2 * k * n * log_n + k * n + o)
        assert m.flops_bwd(10, True) == 10 * (2 * k * n * log_n + 3 * o + 3 * k * n + 4 * k * i)
        assert m.flops_bwd(10, False) == 10 * (2 * k * n * log_n + 3 * o + 3 * k * n + 2 * k * i)
    assert layer('fastfood', 96, 96).n_trainable == 96 + 128 + 96      # about 3 per row
    # the whole model: per layer q, k, v, o (96 -> 96), fc (96 -> 384: 3 blocks), proj (384 -> 96: n = 512)
    c = tiny(linear='fastfood').param_counts()
    d, L, V = 96, 2, 64
    assert c['trainable_nonembedding'] == L * (4 * 320 + (3 * 96 + 3 * 128 + 384) + (384 + 512 + 96)) + L * 2 * d + d
    assert c['emulated_nonembedding'] == L * 12 * d * d
    assert c['trainable_embedding'] == 2 * V * d and c['frozen'] == 0


def test_fastfood_init_is_the_fastfood_distribution():
    m = layer('fastfood', 128, 512)
    assert set(m.B.unique().tolist()) == {-1.0, 1.0}
    assert abs(m.G.std().item() - 1) < 0.1 and abs(m.G.mean().item()) < 0.1
    # S_i = std sqrt(n) s_i / ||G_block||, s_i ~ chi_n: row i of W has norm std * s_i, E[s_i^2] = n
    W = effective_weight(m)
    std = init_std(GPTConfig(**SMALL), 'mlp.fc', 128)
    G_norm = m.G.detach().view(4, 128).norm(dim=1).repeat_interleave(128)
    torch.testing.assert_close(W.norm(dim=1), m.S.detach().abs() * G_norm / math.sqrt(128), rtol=1e-4, atol=0)
    s = m.S.detach().abs() * G_norm / (std * math.sqrt(128))
    assert abs((s ** 2).mean().item() / 128 - 1) < 0.1


def test_fastfood_and_blockdiag_lr_multipliers_are_derived_and_W_decays_at_the_dense_rate():
    def groups_of(model):
        return {id(p): g for g in model.optim_groups(weight_decay=0.1) for p in g['params']}
    model, tripled = tiny(attn_linear='fastfood', mlp_linear='blockdiag'), \
        tiny(attn_linear='fastfood', mlp_linear='blockdiag', variant_lr_mult=3.0)
    g, g3 = groups_of(model), groups_of(tripled)
    q, fc = model.h['0'].attn.q, model.h['0'].mlp.fc
    q3, fc3 = tripled.h['0'].attn.q, tripled.h['0'].mlp.fc
    # B and G (O(1) entries) learn alike; S (entries ~ std sqrt(n)) at std sqrt(n) of their rate; all ~sqrt(n) x dense
    assert g[id(q.B)]['lr_mult'] == g[id(q.G)]['lr_mult'] > 5
    assert g[id(q.S)]['lr_mult'] == pytest.approx(g[id(q.G)]['lr_mult'] * q.S.detach().pow(2).mean().sqrt().item(),
                                                  rel=0.2)
    # S carries W's decay (W is linear in S), B and G none; blocks: W's entries are theirs / sqrt(b)
    assert g[id(q.S)]['weight_decay'] * g[id(q.S)]['lr_mult'] == pytest.approx(0.1)
    assert g[id(q.B)]['weight_decay'] == g[id(q.G)]['weight_decay'] == 0.0
    assert g[id(fc.weight)]['lr_mult'] == 2.0 and g[id(fc.weight)]['weight_decay'] == pytest.approx(0.05)
    for a, b in ((q.S, q3.S), (q.G, q3.G), (fc.weight, fc3.weight)):
        assert g3[id(b)]['lr_mult'] == pytest.approx(3 * g[id(a)]['lr_mult'])     # variant_lr_mult scales them all
    dense = tiny()
    assert groups_of(dense)[id(dense.h['0'].mlp.fc.weight)]['lr_mult'] == 1.0


# -- block-diagonal ----------------------------------------------------------------------------------

@pytest.mark.parametrize('blocks', [1, 2, 4, 8])
@pytest.mark.parametrize('shape', [(96, 96), (96, 384), (384, 96)])
def test_blockdiag_equals_the_explicit_H_kron_I_times_blockdiag(blocks, shape):
    in_features, out_features = shape
    m = layer('blockdiag', in_features, out_features, blocks=blocks).double()
    Hb = sylvester(blocks) / math.sqrt(blocks)
    expected = torch.kron(Hb, torch.eye(out_features // blocks, dtype=torch.float64)) @ torch.block_diag(*m.weight.detach())
    torch.testing.assert_close(effective_weight(m), expected, rtol=1e-10, atol=1e-12)


def test_blockdiag_counts_and_flops_by_hand():
    m = layer('blockdiag', 96, 384, blocks=4)
    assert m.weight.shape == (4, 96, 24)
    assert m.n_trainable == 96 * 384 // 4 and m.n_frozen == 0 and m.n_emulated == 96 * 384
    assert m.flops_fwd(10) == 10 * (2 * 96 * 384 // 4 + 384 * 2)
    assert m.flops_bwd(10, True) == 10 * (384 * 2 + 4 * 96 * 384 // 4)
    assert m.flops_bwd(10, False) == 10 * (384 * 2 + 2 * 96 * 384 // 4)
    c = tiny(linear='blockdiag', blocks=4).param_counts()
    d, L = 96, 2
    assert c['trainable_nonembedding'] == L * 12 * d * d // 4 + L * 2 * d + d
    assert c['emulated_nonembedding'] == L * 12 * d * d


@pytest.mark.parametrize('blocks', [3, 64])   # not a power of two; does not divide n_embd = 96
def test_blockdiag_bad_blocks_are_explained(blocks):
    with pytest.raises(ConfigError, match=f'blocks={blocks}'):
        tiny(linear='blockdiag', blocks=blocks)


# -- compile -----------------------------------------------------------------------------------------

def test_fastfood_attention_blockdiag_mlp_compiles_fullgraph_and_matches_eager():
    # fullgraph=True: Dynamo must trace forward and AOTAutograd backward through the Hadamard custom op with no graph
    # break. backend='aot_eager' checks exactly that in ~5 s; inductor adds ~30 s of C++ codegen on a cold CPU cache
    # for ops (elementwise, index_select, einsum) that are not ours.
    model = tiny(n_layer=1, attn_linear='fastfood', mlp_linear='blockdiag')
    x = torch.randint(0, 64, (2, 32), generator=torch.Generator().manual_seed(0))
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    logits, loss = compiled(x, x)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    ref_logits, ref_loss = model(x, x)
    ref_loss.backward()
    torch.testing.assert_close(logits, ref_logits, rtol=1e-4, atol=1e-5)
    for n, p in model.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-3, atol=1e-6, msg=n)
