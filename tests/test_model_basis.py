"""model.py's random-basis variants: `basis` (W = W0 + sum_k α_k W_k per layer) and `intrinsic` (θ = θ0 + P α with
one α for the whole model), with dense, fastfood and fft projections."""
import math
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from kernels.hadamard import hadamard_transform, sylvester
from kernels import philox
from model import GPT, GPTConfig, ConfigError, RandomBasisLinear, IntrinsicLinear, ProjectAlpha, config_from_dict, \
    make_linear

SMALL = dict(vocab_size=64, block_size=32, n_layer=2, n_head=2, n_embd=32)
MICRO = dict(vocab_size=32, block_size=16, n_layer=1, n_head=2, n_embd=16)   # layers of 256 and 1024 weights
PROJECTIONS = ['dense', 'fastfood', 'fft']
VARIANT_PROJECTIONS = [(v, p) for v in ('basis', 'intrinsic') for p in PROJECTIONS]


def build(variant, projection='dense', d=6, shape=SMALL, **kw):
    torch.manual_seed(0)
    keys = (dict(basis_dim=d, basis_projection=projection) if variant == 'basis'
            else dict(intrinsic_dim=d, intrinsic_projection=projection))
    return GPT(GPTConfig(**shape, linear=variant, **keys, **kw))


def basis_layers(model):
    return [m for _, _, m in model.variant_modules()]


def alphas(model):
    return [p for n, p in model.named_parameters() if n.endswith('alpha')]


def randomize(model, seed=1):
    """Move α (and SAID's λ) away from their init, so gradients are checked at a generic point."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith('alpha') or n.endswith('lam'):
                p.add_(torch.randn(p.shape, generator=g) * 0.5)


def batch(V, B=4, T=16, seed=0):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def explicit_P(layer):
    """The layer's projection as an explicit (D, d) float64 matrix, built from the math (not from layer.project)."""
    D, d, N = layer.n_emulated, layer.d, layer.N
    if layer.projection == 'dense':  # column k = W_k / sqrt(D), W_k ±1 drawn one at a time from stream k of key 'W'
        cols = [philox.signs(layer.keys['W'], D, stream=k).double() for k in range(d)]
        return torch.stack(cols, 1) / math.sqrt(D)
    names = ('B', 'G', 'perm') if layer.projection == 'fastfood' else ('B', 'perm')
    r = {k: v.double() if v.is_floating_point() else v for k, v in layer.random_parts('cpu', names).items()}
    if layer.projection == 'fastfood':  # (H G Π H B)[:D, :d] / sqrt(L D), G and B ±1, B of length d
        H = sylvester(N, torch.float64)
        Pi = torch.zeros(N, N, dtype=torch.float64)
        Pi[torch.arange(N), r['perm']] = 1            # (Π v)_i = v_perm[i]
        M = (H @ torch.diag(r['G']) @ Pi @ H)[:, :d] * r['B']
        return M[:D] / math.sqrt(N * D)
    # fft, column by column: entry j of column k is sqrt(N/D) B_j cas(2 pi j perm[k] / N) / sqrt(N)
    j = torch.arange(D, dtype=torch.float64)
    cols = []
    for k in range(d):
        angle = 2 * math.pi * j * r['perm'][k].item() / N
        cols.append(r['B'][:D] * (torch.cos(angle) + torch.sin(angle)) / math.sqrt(D))
    return torch.stack(cols, 1)


# -- counts --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('projection', PROJECTIONS)
def test_basis_trains_d_coefficients_per_linear_layer(projection):
    model = build('basis', projection, d=7)
    c, n, L = model.param_counts(), 32, 2
    norms = L * 2 * n + n
    assert c['trainable_nonembedding'] == L * 6 * 7 + norms
    assert c['families']['attn:BasisLinear'][0] == L * 4 * 7
    assert c['families']['mlp:BasisLinear'][0] == L * 2 * 7
    assert c['emulated_nonembedding'] == L * 12 * n * n
    assert all(m.n_trainable == 7 for m in basis_layers(model))
    # frozen: W0 plus the random values of the projection, all regenerated from seeds
    extra = {'dense': lambda D: 7 * D, 'fastfood': lambda D: D + 7, 'fft': lambda D: D}[projection]  # D is a power of 2
    assert c['frozen'] == sum(m.n_emulated + extra(m.n_emulated) for m in basis_layers(model))
    assert c['checkpoint_bytes'] == 4 * c['trainable']        # nothing frozen is stored


@pytest.mark.parametrize('said', [False, True])
def test_five_parameter_model_trains_five_numbers_plus_norms(said):
    """With SAID the d includes one λ per weight tensor (6 per layer): d = 17 leaves α its 5 numbers."""
    said_scales = 12 * 2 // 2 if said else 0
    model = build('intrinsic', 'fastfood', d=5 + said_scales, intrinsic_said=said)
    c, n, L = model.param_counts(), 32, 2
    norms = L * 2 * n + n
    assert c['families']['intrinsic:alpha'] == [5, 0, 0]    # α on a line of its own in param_report
    assert c['trainable_nonembedding'] == 5 + said_scales + norms
    assert sum(m.n_trainable for m in basis_layers(model)) == said_scales
    # α is one parameter and one state-dict entry, whatever the number of layers using it
    assert sum(p is model.intrinsic.alpha for p in model.parameters()) == 1
    assert [k for k in model.state_dict() if 'alpha' in k] == ['intrinsic.alpha']
    assert all(m.shared[0] is model.intrinsic for m in basis_layers(model))
    assert 'intrinsic:alpha' in model.param_report()


def test_five_parameter_checkpoint_is_embeddings_norms_and_twenty_bytes():
    intrinsic = build('intrinsic', 'fastfood', d=5).state_dict()
    baseline = build('frozen').state_dict()      # embeddings and norms only
    emb = intrinsic['wte.weight'].numel()
    assert max(t.numel() for t in intrinsic.values()) <= emb
    assert set(intrinsic) - set(baseline) == {'intrinsic.alpha'}
    size = lambda sd: sum(t.numel() * t.element_size() for t in sd.values())
    assert size(intrinsic) - size(baseline) == 5 * 4


def test_alpha_learns_at_sqrt_D_over_d_times_the_measured_adam_ratio_and_decays_toward_W0():
    from model import ALPHA_ADAM

    def alpha_groups(model):
        ids = {id(p) for p in alphas(model)}
        return [g for g in model.optim_groups(0.1) if any(id(p) in ids for p in g['params'])]
    D = 2 * 12 * 32 * 32
    assert [g['lr_mult'] for g in alpha_groups(build('intrinsic', d=5))] == [pytest.approx(math.sqrt(D / 5) * ALPHA_ADAM)]
    assert sorted(g['lr_mult'] for g in alpha_groups(build('basis', d=8))) == pytest.approx(
        [math.sqrt(32 * 32 / 8) * ALPHA_ADAM, math.sqrt(32 * 128 / 8) * ALPHA_ADAM])
    doubled = alpha_groups(build('intrinsic', d=5, variant_lr_mult=2.0))
    assert [g['lr_mult'] for g in doubled] == [pytest.approx(2 * math.sqrt(D / 5) * ALPHA_ADAM)]
    # AdamW shrinks α by lr x lr_mult x weight_decay: the group's decay is divided by lr_mult, so W - W0 shrinks by
    # lr x 0.1 per step as a dense W does
    for g in alpha_groups(build('basis', d=8)) + doubled:
        assert g['weight_decay'] * g['lr_mult'] == pytest.approx(0.1)


def test_flops_are_a_dense_layers_per_token_plus_materialisation_per_step():
    dense, basis = build('dense').flops_per_token(), build('basis', 'dense', d=8).flops_per_token()
    assert basis['C_actual'] == dense['C_actual']             # forward, G_W and input grad of a dense layer
    layers = basis_layers(build('basis', 'dense', d=8))
    assert basis['step'] == sum(4 * 8 * m.n_emulated + m.n_emulated for m in layers)
    W0 = sum(m.n_emulated for m in layers)                    # the only frozen weights a token meets
    assert basis['C_frozen_2_3'] == basis['C_train'] + 4 * W0
    # fastfood: one Hadamard of L log2 L adds, one of d (the other factor of H_L acts on d nonzeros), two diagonals,
    # Π and the divisor, each way; cheaper than dense once d >> log2 L
    ff = build('basis', 'fastfood', d=64).flops_per_token()
    assert ff['step'] == sum(2 * (D * int(math.log2(D)) + 64 * 6 + 64 + 3 * D) + D
                             for D in (m.n_emulated for m in layers))
    assert ff['step'] < build('basis', 'dense', d=64).flops_per_token()['step'] / 4


@pytest.mark.parametrize('kw,message', [
    (dict(linear='basis', basis_dim=1025), 'basis_dim=1025 exceeds'),
    (dict(linear='basis', basis_projection='sparse'), "projection 'sparse'"),
    (dict(linear='intrinsic', intrinsic_dim=24577), 'intrinsic_dim=24577 exceeds'),
])
def test_bad_basis_configs_are_explained(kw, message):
    with pytest.raises(ConfigError, match=message):
        GPT(GPTConfig(**SMALL, **kw))


# -- initialisation ------------------------------------------------------------------------------------

@pytest.mark.parametrize('variant,projection', VARIANT_PROJECTIONS)
def test_starts_exactly_at_W0_with_initial_loss_ln_vocab(variant, projection):
    model = build(variant, projection, d=16)
    assert all(torch.count_nonzero(a) == 0 for a in alphas(model))
    for m in basis_layers(model):
        assert torch.equal(m.weight(), m.W0)
    x = batch(64, T=32)
    _, loss = model(x, x)
    assert abs(loss.item() - math.log(64)) < 0.1


# -- projections ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('projection', PROJECTIONS)
def test_projection_equals_its_explicit_matrix(projection):
    # mlp.fc of n_embd=16, mlp_ratio=3: D = 768 is no power of two (fastfood pads to 1024, fft takes any length)
    cfg = GPTConfig(**{**MICRO, 'mlp_ratio': 3}, linear='basis', basis_dim=9, basis_projection=projection)
    layer = make_linear(cfg, 'mlp.fc', 0, 16, 48)
    alpha = torch.randn(9, generator=torch.Generator().manual_seed(0))
    P = explicit_P(layer)                                                       # (768, 9)
    assert torch.allclose(layer.project(alpha).double(), P @ alpha.double(), atol=1e-5)
    g = torch.randn(768, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(layer.project_T(g).double(), P.T @ g.double(), atol=1e-4)


def test_fft_projection_has_exactly_orthonormal_columns():
    cfg = GPTConfig(**MICRO, linear='basis', basis_dim=40, basis_projection='fft')
    P = explicit_P(make_linear(cfg, 'mlp.fc', 0, 16, 64))       # (1024, 40)
    assert torch.allclose(P.T @ P, torch.eye(40, dtype=torch.float64), atol=1e-10)


def test_dense_projection_has_exactly_unit_norm_sign_columns():
    cfg = GPTConfig(**MICRO, linear='basis', basis_dim=40, basis_projection='dense')
    P = explicit_P(make_linear(cfg, 'mlp.fc', 0, 16, 64))       # (1024, 40)
    assert torch.equal(P.abs(), torch.full_like(P, 1 / 32))    # ±1/sqrt(D): Achlioptas's binary coins
    assert torch.allclose(P.norm(dim=0), torch.ones(40, dtype=torch.float64), atol=1e-12)
    cos = P.T @ P - torch.eye(40, dtype=torch.float64)
    assert cos.abs().max() < 5 / math.sqrt(1024)                # nearly orthogonal, as Gaussian directions


def test_fastfood_projection_of_a_power_of_two_layer_has_exactly_orthonormal_columns():
    # D = 1024 = L: H G Π H B / L is a product of orthogonal matrices when G and B are ±1
    cfg = GPTConfig(**MICRO, linear='basis', basis_dim=40, basis_projection='fastfood')
    layer = make_linear(cfg, 'mlp.fc', 0, 16, 64)
    P = explicit_P(layer)                                       # (1024, 40)
    assert torch.allclose(P.T @ P, torch.eye(40, dtype=torch.float64), atol=1e-10)
    columns = torch.stack([layer.project(e) for e in torch.eye(40)], 1)
    assert torch.allclose(columns.double(), P, atol=1e-6)


@pytest.mark.parametrize('m,L', [(1, 8), (4, 64), (16, 16)])
def test_hadamard_of_a_zero_padded_vector_is_a_tile_and_its_head_a_fold(m, L):
    # what fastfood's project / project_T use in place of the first / last full length-L transform
    H = lambda x: hadamard_transform(x, scale=1.0)
    v, g = torch.randn(m, dtype=torch.float64), torch.randn(L, dtype=torch.float64)
    assert torch.allclose(H(F.pad(v, (0, L - m))), H(v).repeat(L // m))
    assert torch.allclose(H(g)[:m], H(g.view(L // m, m).sum(0)))


def test_fastfood_columns_have_unit_norm_and_distinct_seeds_are_uncorrelated():
    cfg = GPTConfig(**{**SMALL, 'n_embd': 48}, linear='basis', basis_dim=32, basis_projection='fastfood')
    D = 48 * 192                                                # 9216, padded to L = 16384
    columns = lambda layer_idx: torch.stack([make_linear(cfg, 'mlp.fc', layer_idx, 48, 192).project(e)
                                             for e in torch.eye(32)], 1)           # (D, 32)
    P1, P2 = columns(0), columns(1)
    norms = P1.norm(dim=0)
    assert abs(norms.mean().item() - 1) < 0.1 and (norms - 1).abs().max() < 0.3
    cross = (P1 / P1.norm(dim=0)).T @ (P2 / P2.norm(dim=0))                        # cosines, (32, 32)
    assert cross.abs().max() < 6 / math.sqrt(D)               # independent directions: |cos| ~ 1/sqrt(D)
    assert cross.abs().mean() < 1.5 / math.sqrt(D)


# -- gradients -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('variant,projection', VARIANT_PROJECTIONS)
def test_alpha_gradient_equals_explicit_materialisation(variant, projection):
    """The custom backward (P regenerated, <G_W, W_k>) against plain autograd through an explicit d x D basis."""
    said = 6 if variant == 'intrinsic' else 0   # SAID's 6 λ of the one layer come out of d: α keeps 6 entries
    model = build(variant, projection, d=6 + said, shape=MICRO, intrinsic_said=True)
    randomize(model)
    x = batch(32)
    _, loss = model(x, x)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    for m in basis_layers(model):
        P = explicit_P(m).float()                                                  # (D, d)
        def explicit(x, m=m, P=P):
            alpha, c = m.coefficients()
            return F.linear(x, m.W0 + c * (P @ alpha).view(m.out_features, m.in_features))
        m.forward = explicit
    _, loss_explicit = model(x, x)
    loss_explicit.backward()
    assert torch.allclose(loss, loss_explicit, atol=1e-5)
    for n, p in model.named_parameters():
        assert torch.allclose(grads[n], p.grad, rtol=1e-4, atol=1e-6), n
    assert any(n.endswith('lam') for n in grads) == (variant == 'intrinsic')


@pytest.mark.parametrize('variant,projection', VARIANT_PROJECTIONS)
def test_cache_gives_the_same_outputs_and_gradients(variant, projection, capsys):
    results = []
    for cache in (False, True):
        model = build(variant, projection, d=6, shape=MICRO, basis_cache=cache)
        randomize(model)
        x = batch(32)
        logits, loss = model(x, x)
        loss.backward()
        results.append((logits, [p.grad for p in alphas(model)]))
        assert (sum(m.cache_bytes() for m in basis_layers(model)) > 0) == cache   # buffers only when asked for,
        assert not any(k.endswith(('Wk', 'B', 'G', 'perm')) for k in model.state_dict())   # and never saved
    printed = capsys.readouterr().out
    assert 'basis_cache:' in printed and 'bytes' in printed
    (l0, g0), (l1, g1) = results
    assert torch.allclose(l0, l1, atol=1e-5)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(g0, g1))


# -- once per optimizer step ---------------------------------------------------------------------------

def count_projections(monkeypatch):
    """{'P': calls of project, 'PT': calls of project_T}, counted from now on."""
    calls = {'P': 0, 'PT': 0}
    for name, key in (('project', 'P'), ('project_T', 'PT')):
        def counted(self, v, real=getattr(RandomBasisLinear, name), key=key):
            calls[key] += 1
            return real(self, v)
        monkeypatch.setattr(RandomBasisLinear, name, counted)
    return calls


@pytest.mark.parametrize('variant,projection,share', [('basis', 'dense', 'none'), ('basis', 'fft', 'all'),
                                                      ('intrinsic', 'fastfood', 'none')])
def test_gradient_accumulation_projects_once_per_optimizer_step_with_the_same_gradients(variant, projection, share,
                                                                                        monkeypatch):
    """Three micro-steps: P α once per layer (forward reuses it while α is unchanged), P^T ΣG_W once per use on the
    last micro-step, and the same gradients as projecting every micro-step's G_W (the default)."""
    model = build(variant, projection, d=6, share=share)
    randomize(model)
    modules, uses = len({id(m) for m in basis_layers(model)}), len(basis_layers(model))
    calls = count_projections(monkeypatch)
    grads = []
    for once in (False, True):
        model.zero_grad(set_to_none=True)
        calls.update(P=0, PT=0)
        for i in range(3):
            model.last_micro_step(i == 2 or not once)
            x = batch(64, seed=i)
            model(x, x)[1].backward()
        assert calls == ({'P': modules, 'PT': uses} if once else {'P': 3 * modules, 'PT': 3 * uses})
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for n, g in grads[0].items():
        assert torch.allclose(g, grads[1][n], rtol=1e-5, atol=1e-7), n


def test_forward_reuses_the_projection_until_alpha_changes_by_a_step_a_load_or_an_edit(monkeypatch):
    """Evaluation and sampling project once; an AdamW step, load_state_dict and an in-place edit of α each show; a
    training step's last micro-step keeps nothing (its ΔW would only cost memory)."""
    model = build('intrinsic', 'fastfood', d=6)
    layers = basis_layers(model)
    calls = count_projections(monkeypatch)
    x = batch(64)
    with torch.no_grad():
        model(x), model(x), model.generate(x[:1, :4], 3)
    assert calls['P'] == len(layers)
    current = lambda: all(torch.equal(ProjectAlpha.apply(m.coefficients()[0], m, True),   # the kept ΔW, if valid
                                      m.project(m.coefficients()[0])) for m in layers)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(x, x)[1].backward()
    opt.step()
    loss = model(x, x)[1]              # a training step's last micro-step keeps no ΔW: nothing can reuse it
    assert all(m.delta is None for m in layers)
    loss.backward()
    assert current()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.intrinsic.alpha.add_(1.0)
    assert current()
    model.load_state_dict(state)
    assert current()


# -- storage -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('variant,projection', [('basis', 'dense'), ('basis', 'fft'), ('intrinsic', 'fastfood')])
def test_rebuilding_from_the_state_dict_gives_bit_identical_weights(variant, projection):
    model = build(variant, projection, d=6 + (12 if variant == 'intrinsic' else 0), intrinsic_said=True)
    randomize(model)
    state = model.state_dict()
    torch.manual_seed(123)   # another global RNG state: everything frozen comes from its own seed
    rebuilt = GPT(config_from_dict(asdict(model.config)))
    rebuilt.load_state_dict(state)
    for a, b in zip(basis_layers(model), basis_layers(rebuilt)):
        assert torch.equal(a.weight(), b.weight())
        assert not torch.equal(a.weight(), a.W0)
    x = batch(64)
    assert torch.equal(model(x)[0], rebuilt(x)[0])


@pytest.mark.parametrize('variant,projection', VARIANT_PROJECTIONS)
def test_every_frozen_tensor_regenerates_identically_cached_or_drawn_afresh(variant, projection):
    model = build(variant, projection, d=6, shape=MICRO, basis_cache=True)
    randomize(model)
    torch.manual_seed(123)                          # another global RNG state: frozen tensors come from their keys
    rebuilt = GPT(config_from_dict(asdict(model.config)))
    rebuilt.load_state_dict(model.state_dict())
    buffers = dict(rebuilt.named_buffers())
    assert any(n.endswith(('Wk', '.G', 'perm')) for n in buffers)
    for n, b in model.named_buffers():
        assert torch.equal(b, buffers[n]), n
    x = batch(32)
    assert torch.equal(model(x)[0], rebuilt(x)[0])
    for m in basis_layers(model):                  # a regenerated (uncached) projection draws the same values
        if projection == 'dense':
            m.cache = False
            assert torch.equal(torch.cat([Wk for _, Wk in m._directions('cpu')]), m.Wk)
        for name in ('B', 'G', 'perm'):
            if hasattr(m, name):
                assert torch.equal(m._draw(name, 'cpu'), getattr(m, name)), name


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
@pytest.mark.parametrize('variant,projection', VARIANT_PROJECTIONS)
def test_a_model_moved_to_cuda_regenerates_its_projection_there_as_on_the_cpu(variant, projection):
    model = build(variant, projection, d=6, shape=MICRO)
    randomize(model)
    x = batch(32)
    logits = model(x)[0]
    model.to('cuda')
    for m in basis_layers(model):
        delta = ProjectAlpha.apply(m.coefficients()[0], m, False)
        assert delta.device.type == 'cuda'
        assert torch.allclose(delta.cpu(), ProjectAlpha.apply(m.coefficients()[0].cpu(), m.to("cpu"), False), atol=1e-6)
        m.to('cuda')
    assert torch.allclose(model(x.cuda())[0].cpu(), logits, atol=1e-4)


class LargestTensor(TorchDispatchMode):
    """Records the largest storage any op creates: the working set of regenerating the directions shows up here."""
    def __init__(self):
        super().__init__()
        self.nbytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.nbytes = max(self.nbytes, t.untyped_storage().nbytes())
        return out


def step_memory(d):
    """Bytes a training step needs, in three parts that add up to a bound on its peak: the model's tensors
    (parameters, their gradients, buffers), the tensors autograd saves for backward (held from forward to backward,
    where the peak is; a basis kept in the graph would show up here as d*D per layer), and the largest single
    tensor created during forward and backward (a d x D basis materialised at once would show up here)."""
    model = build('basis', 'dense', d=d)
    x = batch(64, B=8, T=32)
    saved = {}
    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t
    largest = LargestTensor()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), largest:
        _, loss = model(x, x)
        loss.backward()
    state = sum(2 * p.numel() * p.element_size() for p in model.parameters())
    state += sum(b.numel() * b.element_size() for b in model.buffers())
    return state + sum(saved.values()) + largest.nbytes


def test_peak_memory_of_a_step_does_not_grow_with_d(monkeypatch):
    monkeypatch.setattr('model.BASIS_CHUNK', 1 << 14)   # a chunk below the tiny model's bases: d shows, if it grows
    small, large = step_memory(8), step_memory(512)
    assert large < 1.1 * small
    D = 32 * 128
    assert large < 512 * D * 4 / 4           # a quarter of one mlp layer's explicit basis
