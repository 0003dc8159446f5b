"""
nanoreparam's GPT, in one file.

A modern decoder-only transformer (pre-norm RMSNorm, rotary, QK-norm, no biases, relu^2 MLP) whose every
matmul inside the blocks comes from one factory, make_linear(cfg, role, layer_idx, in_features, out_features)
(one LinearFactory per model, which also owns what layers share). The config switches that factory among ways
of spending fewer trainable parameters than the dense weight they stand for. Every variant is one small class
with the same surface, and the accounting asks every one the same questions:

    forward(x)                            x[..., in] -> [..., out]
    n_trainable, n_frozen, n_emulated     parameter accounting (n_emulated = in * out)
    n_frozen_per_step, shared             frozen values used once per step; modules shared across layers
    flops_fwd(tokens), flops_bwd(tokens, needs_input_grad), flops_step()   structural FLOPs

Frozen random tensors are never stored: they are non-persistent buffers drawn by one counter-based generator
(kernels/philox.py) keyed by (cfg.seed, layer, role, purpose), on the device that uses them and the same on every
device, so a checkpoint holds only what was trained and a rebuilt model is identical.
The math, init derivations and FLOP counts of every variant are in docs/variants.md.
"""

import math
from dataclasses import dataclass, field, fields, asdict, replace
from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from kernels.hadamard import hadamard_transform, block_hadamard_transform, fastfood_transform, is_pow2, next_pow2
from kernels import philox


class ConfigError(ValueError):
    """A config that cannot be run; the message names the key and the fix. Scripts exit with exit_code, no
    traceback (configurator.py installs the handler)."""
    exit_code = 2


# -----------------------------------------------------------------------------
# config

@dataclass
class GPTConfig:
    # shape
    block_size: int = 256
    vocab_size: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    mlp: str = 'relu2'                 # relu2 | gelu | swiglu
    mlp_ratio: int = 4                 # MLP hidden width = mlp_ratio * n_embd (swiglu too)
    dropout: float = 0.0
    tie_embeddings: bool = False
    embd_dim: int = 0                  # >0: ALBERT-factorized embedding V x E then E x n_embd
    # the Linear factory
    linear: str = 'dense'              # default variant for every role, see VARIANTS
    attn_linear: str = ''              # '' = same as linear
    mlp_linear: str = ''
    seed: int = 1337                   # seeds every frozen random tensor
    # lowrank / lora
    attn_rank: Union[int, float, list] = 0.25  # int, per-layer list, or float in (0, 1]: fraction of mn/(m+n)
    mlp_rank: Union[int, float, list] = 0.25
    rank_schedule: str = 'constant'    # see RANK_SCHEDULES
    rank_min: int = 0                  # smallest rank a schedule reaches; 0 = max(1, rank // 8)
    lora_alpha: float = 0.0            # LoRA scale alpha/r; 0 = alpha equal to r (scale 1)
    # random basis / intrinsic
    basis_dim: int = 8                 # d coefficients per layer
    basis_projection: str = 'dense'    # dense | fastfood | fft
    basis_cache: bool = False          # keep the d directions as buffers (memory for speed)
    basis_form: str = 'offset'         # offset: W = W0 + sum_k α_k W_k, α = 0 | pure: W = sum_k α_k W_k, no W0
    basis_alpha_init: str = 'normal'   # pure form's α: normal (random signs) | equal (all alike); both give W the dense std
    intrinsic_dim: int = 1000          # d coefficients for the whole model
    intrinsic_projection: str = 'fastfood'  # dense | fastfood | fft
    intrinsic_said: bool = False       # one trainable scale per weight tensor (Aghajanyan's SAID), inside the d
    # structured
    blocks: int = 4                    # blockdiag: number of dense blocks
    blockdiag_mix: str = 'each'        # each: a block Hadamard after every blockdiag matrix | between: the MLP's one
    # learning rates: each variant's tensors get derived multipliers (docs/variants.md#learning-rates)
    variant_lr_mult: float = 1.0       # scales every derived multiplier of a non-dense variant (1 = as derived)
    # layer structure
    share: Union[str, int] = 'none'    # none | all | k (groups of k consecutive layers share one block)
    share_what: str = 'block'          # block | attn | mlp: the part of a layer that `share` shares
    doped: Union[bool, str] = False    # True: frozen MLP layers interleaved (T F T ... T); or a pattern 'TFTFT'
    frozen_mlp_ratio: int = 6          # hidden width of a frozen doped MLP layer, times n_embd
    doped_layer: str = 'mlp'           # mlp: a doped layer is a frozen MLP | block: a frozen attention + MLP layer


RANK_SCHEDULES = ('constant', 'increasing', 'decreasing', 'linear', 'step', 'exponential', 'neg_quadratic')


def frozen_key(cfg, layer_idx, role, purpose):
    """The Philox key of a frozen random tensor: a stable hash of (seed, layer, role, purpose), so any process on any
    device redraws exactly the same tensor (kernels/philox.py)."""
    return philox.key_of(cfg.seed, layer_idx, role, purpose)


def randn(shape, key, std=1.0, device=None):
    """N(0, std^2) of the given shape from a frozen key, drawn on device (None: torch's default device)."""
    return philox.gaussian(key, math.prod(shape), device).view(shape) * std


# Adam moves a coordinate by about lr x RMS(m / sqrt(v)): near lr for a coefficient whose gradient sums over a whole
# matrix (α), less for a noisy dense entry. Measured ratio (bench.py --relstep, docs/variants.md#learning-rates).
ALPHA_ADAM = 0.5


def init_std(cfg, role, in_features):
    """The dense init every variant matches: fan-in std, residual-output projections scaled by 1/sqrt(2L) (GPT-2)."""
    std = in_features ** -0.5
    if role in ('attn.o', 'mlp.proj'):
        std /= math.sqrt(2 * cfg.n_layer)
    return std


# -----------------------------------------------------------------------------
# the variants: one class each

class VariantLinear(nn.Module):
    """The surface every variant shares: in_features -> out_features and the accounting questions. Subclasses add
    their parameters and the FLOPs of their forward and backward."""
    lr_mult = {}            # parameter name -> lr multiplier (default 1): W moves as a dense W does per step
    decay = {}              # parameter name -> its share of W's weight decay (default: matrices 1, vectors 0)
    n_frozen_per_step = 0   # frozen values used once per step (a random basis's P), not per token
    shared = ()             # modules this layer uses but other layers share (the intrinsic α), counted once
    fresh_output = True     # forward returns a new tensor, no view, kept by no other op (see fresh)

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features

    def fresh(self, x):
        """forward(x) as a tensor an op may write into (relu², rotary): a view is copied."""
        return self(x) if self.fresh_output else self(x).clone()

    @property
    def n_trainable(self):
        return sum(p.numel() for p in self.parameters(recurse=False) if p.requires_grad)

    @property
    def n_frozen(self):
        return sum(b.numel() for b in self.buffers(recurse=False))

    @property
    def n_emulated(self):
        return self.in_features * self.out_features

    def flops_step(self):
        return 0  # FLOPs paid once per optimizer step, not per token (basis materialisation)

    def extra_repr(self):
        return f'{self.in_features} -> {self.out_features}, trainable={self.n_trainable}, frozen={self.n_frozen}'


class DenseLinear(VariantLinear):
    """W: out x in, trainable. The reference."""
    def __init__(self, cfg, role, layer_idx, in_features, out_features, std):
        super().__init__(in_features, out_features)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * std)

    def forward(self, x):
        return F.linear(x, self.weight)

    def flops_fwd(self, tokens):
        return 2 * tokens * self.n_emulated

    def flops_bwd(self, tokens, needs_input_grad):
        return 2 * tokens * self.n_emulated * (1 + needs_input_grad)  # weight grad + input grad


class FrozenLinear(VariantLinear):
    """W0 frozen random at the dense init: 0 trainable. Doped layers and the embeddings-only baseline."""
    def __init__(self, cfg, role, layer_idx, in_features, out_features, std):
        super().__init__(in_features, out_features)
        W0 = randn((out_features, in_features), frozen_key(cfg, layer_idx, role, 'W0'), std)
        self.register_buffer('W0', W0, persistent=False)

    def forward(self, x):
        return F.linear(x, self.W0)

    def flops_fwd(self, tokens):
        return 2 * tokens * self.n_emulated

    def flops_bwd(self, tokens, needs_input_grad):
        return 2 * tokens * self.n_emulated * needs_input_grad  # no weight grad


class LowRankLinear(VariantLinear):
    """W = B A replaces W, r(in + out) trainable. The init targets the product's variance, not each factor's."""
    def __init__(self, cfg, role, layer_idx, in_features, out_features, std, rank):
        super().__init__(in_features, out_features)
        self.rank = rank
        self.A = nn.Parameter(torch.randn(rank, in_features) * in_features ** -0.5)                 # (r, in)
        self.B = nn.Parameter(torch.randn(out_features, rank) * std * math.sqrt(in_features / rank))  # (out, r)
        # B ΔA and ΔB A each move W by 1/sqrt(2) of a dense step; the two factors share W's decay
        k = cfg.variant_lr_mult / math.sqrt(2)
        self.lr_mult = {'A': k / (std * math.sqrt(in_features)), 'B': k * math.sqrt(in_features / rank)}
        self.decay = {'A': 0.5, 'B': 0.5}

    def forward(self, x):
        return F.linear(F.linear(x, self.A), self.B)

    def flops_fwd(self, tokens):
        return 2 * tokens * self.rank * (self.in_features + self.out_features)

    def flops_bwd(self, tokens, needs_input_grad):
        r, m, n = self.rank, self.out_features, self.in_features
        # grads of B and A, the gradient into the r-wide bottleneck, and (if needed) into x
        return 2 * tokens * (r * (m + n) + r * m + r * n * needs_input_grad)

    def extra_repr(self):
        return super().extra_repr() + f', rank={self.rank}'


class LoRALinear(LowRankLinear):
    """W = W0 + (alpha/r) B A (Hu et al. 2021) on a frozen random W0, as in Ghosh's five-parameter experiment.
    B = 0, so the effective weight starts exactly at a dense init."""
    def __init__(self, cfg, role, layer_idx, in_features, out_features, std, rank):
        super().__init__(cfg, role, layer_idx, in_features, out_features, std, rank)
        W0 = randn((out_features, in_features), frozen_key(cfg, layer_idx, role, 'W0'), std)
        self.register_buffer('W0', W0, persistent=False)
        nn.init.zeros_(self.B)
        self.scale = (cfg.lora_alpha or rank) / rank
        # B = 0: W first moves by scale ΔB A, RMS scale lr_B sqrt(r / in), where a dense step moves it by lr
        self.lr_mult = dict(self.lr_mult, B=cfg.variant_lr_mult * math.sqrt(in_features / rank) / self.scale)

    def forward(self, x):
        return F.linear(x, self.W0) + self.scale * super().forward(x)

    def flops_fwd(self, tokens):
        return 2 * tokens * self.n_emulated + super().flops_fwd(tokens)

    def flops_bwd(self, tokens, needs_input_grad):
        return 2 * tokens * self.n_emulated * needs_input_grad + super().flops_bwd(tokens, needs_input_grad)


class FastfoodLinear(VariantLinear):
    """Adaptive Fastfood (Le, Sarlos, Smola 2013; Yang et al. 2015), per n x n block W x = S ⊙ H G Π H (B ⊙ x):
    H the orthonormal Walsh-Hadamard transform, S, G, B trained diagonals, Π a permutation regenerated from seeds.
    n = in_features rounded up to a power of two (x zero-padded), k = ceil(out/n) blocks stacked; only entries that
    can reach the output are stored. Init scalings and FLOPs: docs/variants.md#fastfood.
    """
    fresh_output = False    # a slice of the transform's output

    def __init__(self, cfg, role, layer_idx, in_features, out_features, std):
        super().__init__(in_features, out_features)
        n = next_pow2(in_features)
        k = -(-out_features // n)
        perms = [philox.perm(frozen_key(cfg, layer_idx, role, f'perm{j}'), n, torch.arange(n)) for j in range(k)]
        self.register_buffer('perm', torch.stack(perms), persistent=False)                   # (k, n)
        # S, G, B are trainable and saved: drawn by torch's global RNG like every other trainable init
        G = torch.randn(k, n)
        s = torch.distributions.Chi2(torch.tensor(float(n))).sample((out_features,)).sqrt()    # (out,) chi_n
        G_norm = G.norm(dim=1).repeat_interleave(n)[:out_features]                             # ||G|| of each row's block
        self.B = nn.Parameter(torch.randint(0, 2, (k * in_features,)).float() * 2 - 1)         # (k*in,) ±1
        self.G = nn.Parameter(G.view(-1))                                                      # (k*n,)
        self.S = nn.Parameter(std * math.sqrt(n) * s / G_norm)                                 # (out,)
        # each diagonal moves W by 1/sqrt(3) of a dense step: lr x RMS(diagonal) / (std sqrt(3)); S carries the decay
        k = cfg.variant_lr_mult / (std * math.sqrt(3))
        self.lr_mult = {'S': k * std * math.sqrt(n), 'G': k, 'B': k}
        self.decay = {'S': 1.0, 'G': 0.0, 'B': 0.0}

    @property
    def n_frozen(self):
        return 0  # the permutation holds no weights

    def forward(self, x):
        k, n = self.perm.shape
        pad = n - self.in_features                                          # zeros up to a power of two
        b = F.pad(self.B.view(k, -1), (0, pad))                             # (k, n)
        s = F.pad(self.S, (0, k * n - self.out_features)).view(k, n)        # (k, n) rows past out: sliced away
        x = F.pad(x, (0, pad)) if pad else x                                # (..., n)
        h = fastfood_transform(x, b, self.perm, self.G.view(k, n), s)       # (..., k, n): one op, fused on CUDA
        return h.flatten(-2)[..., :self.out_features]                       # (..., out)

    def flops_fwd(self, tokens):
        k, n = self.perm.shape
        return tokens * (k * self.in_features + 2 * k * n * int(math.log2(n)) + k * n + self.out_features)

    def flops_bwd(self, tokens, needs_input_grad):
        k, n = self.perm.shape
        return tokens * (2 * k * n * int(math.log2(n)) + 3 * self.out_features + 3 * k * n
                         + 2 * k * self.in_features * (1 + needs_input_grad))

    def extra_repr(self):
        return super().extra_repr() + f', blocks={self.perm.shape[0]}x{self.perm.shape[1]}'


class BlockDiagLinear(VariantLinear):
    """y = (H_b ⊗ I_{out/b}) BlockDiag(W_1..W_b) x, LightOn's structured MLP (Chatelain et al. 2021): b = cfg.blocks
    dense blocks, block j reading the j-th slice of x, then an orthonormal block Hadamard mixing the blocks' outputs.
    Blocks ~ N(0, b std^2) give the effective weight the dense variance (docs/variants.md#blockdiag).
    blockdiag_mix='between' drops mlp.proj's Hadamard: the MLP is then the paper's figure, two block-diagonal
    matrices with one block Hadamard between them (after mlp.fc).
    """
    fresh_output = False    # a view of the einsum's or the block transform's output

    def __init__(self, cfg, role, layer_idx, in_features, out_features, std):
        super().__init__(in_features, out_features)
        b = cfg.blocks
        self.mix = not (cfg.blockdiag_mix == 'between' and role == 'mlp.proj')
        if not is_pow2(b) or in_features % b or out_features % b:
            raise ConfigError(f'blocks={b}: blockdiag needs a power of two dividing in_features={in_features} and '
                              f'out_features={out_features} of {role}; pick blocks from 1, 2, 4, ... that divides both')
        W = torch.randn(b, out_features // b, in_features // b)                        # (b, out/b, in/b)
        self.weight = nn.Parameter(W * std * math.sqrt(b))
        self.lr_mult = {'weight': cfg.variant_lr_mult * math.sqrt(b)}   # W's entries are the blocks' / sqrt(b)

    def forward(self, x):
        b, o, i = self.weight.shape
        h = torch.einsum('...bi,boi->...bo', x.unflatten(-1, (b, i)), self.weight).flatten(-2)   # (..., out)
        return block_hadamard_transform(h, b) if self.mix else h                    # mixed across blocks

    def flops_fwd(self, tokens):
        b = self.weight.shape[0]
        return tokens * (2 * self.n_emulated // b + self.mix * self.out_features * int(math.log2(b)))

    def flops_bwd(self, tokens, needs_input_grad):
        b = self.weight.shape[0]
        return tokens * (self.mix * self.out_features * int(math.log2(b))
                         + 2 * self.n_emulated // b * (1 + needs_input_grad))

    def extra_repr(self):
        return super().extra_repr() + f', blocks={self.weight.shape[0]}' + ('' if self.mix else ', no Hadamard')


# random bases: W = W0 + c · reshape(P α), P a frozen random projection regenerated from seeds

BASIS_CHUNK = 1 << 19  # dense projection: directions are regenerated this many elements at a time (or one
                       # direction when out*in is larger): one Philox call per chunk amortises its ~100 small ops,
                       # and the working set (2 MB of fp32 signs) is fixed in d
PROJECTIONS = ('dense', 'fastfood', 'fft')


def hartley(x):
    """The orthonormal discrete Hartley transform over the last dim, computed with the FFT: Re(F x) - Im(F x), i.e.
    y_j = sum_t x_t cas(2 pi j t / N) / sqrt(N), cas = cos + sin. Real, symmetric, its own inverse, any length N."""
    X = torch.fft.fft(x, norm='ortho')
    return X.real - X.imag


class ProjectAlpha(torch.autograd.Function):
    """ΔW = P α (flat, (D,)) for a RandomBasisLinear, paid once per optimizer step, not once per micro-step: forward
    reuses the layer's last ΔW while α is unchanged (same tensor, same version counter), and backward adds each
    micro-step's G_W to a running sum, projecting grad α = P^T ΣG_W only when the layer's `project_grad` is set
    (GPT.last_micro_step: train.py sets it on the last micro-step only; by default every backward projects). P is
    regenerated from its seeds, never stored: no d x D tensor is ever kept, and ΔW only while a later call can use it
    (evaluation, earlier micro-steps), not through a training step's last one. Under torch.compile both run every call.
    Runs in fp32 under autocast: ΔW is added to an fp32 W0 and α's gradient sums D products."""
    @staticmethod
    @torch.amp.custom_fwd(device_type='cuda', cast_inputs=torch.float32)
    def forward(ctx, alpha, layer, keep):
        # keep: whether a later call may reuse this ΔW before α changes (not so on a training step's last micro-step)
        ctx.layer, ctx.d = layer, alpha.numel()
        if torch.compiler.is_compiling():
            return layer.project(alpha)
        key = (alpha.data_ptr(), alpha._version, alpha.dtype, alpha.device)
        if layer.delta_key != key:
            delta = layer.project(alpha)
            if not keep:
                return delta
            layer.delta, layer.delta_key = delta, key
        return layer.delta.detach()                                 # a new tensor on the cached storage

    @staticmethod
    @torch.amp.custom_bwd(device_type='cuda')
    def backward(ctx, grad):
        layer = ctx.layer
        if torch.compiler.is_compiling():
            return layer.project_T(grad), None, None
        if not layer.project_grad:                                  # an earlier micro-step: keep the sum, α gets 0
            layer.grad_sum = grad.clone() if layer.grad_sum is None else layer.grad_sum.add_(grad)
            return grad.new_zeros(ctx.d), None, None
        if layer.grad_sum is not None:
            grad = layer.grad_sum.add_(grad)
        layer.grad_sum = layer.delta = layer.delta_key = None       # α changes at the optimizer step that follows
        return layer.project_T(grad), None, None


class RandomBasisLinear(VariantLinear):
    """W = W0 + c · reshape(P α, (out, in)): the machinery shared by `basis` and `intrinsic` (Li et al. 2018's offset
    form). W0 is the dense init and α starts at 0, so W starts exactly at W0. P (D x d, D = out*in, unit-norm columns)
    is never stored: its random parts are redrawn from seeds in forward and again in backward (ProjectAlpha), or kept
    as buffers with cfg.basis_cache. Every random part of P is a sign or an index, cheap to redraw; only W0 is Gaussian.
    Projections (docs/variants.md#the-three-projections):
      dense     column k = W_k / sqrt(D), W_k ∈ {±1}^(out x in) from stream k of key 'W' (Achlioptas 2003): unit norm
      fastfood  (H G Π H B [α; 0])[:D] / sqrt(L D), H unnormalised, G, B ±1, length L = next pow2 >= max(D, d)
      fft       sqrt(N/D) (B ⊙ Hartley(Π^T [α; 0]))[:D], N = max(D, d): Ghosh's FFT Fastfood, factors transposed
    """
    def __init__(self, cfg, role, layer_idx, in_features, out_features, std, d, projection, pure=False):
        super().__init__(in_features, out_features)
        if projection not in PROJECTIONS:
            raise ConfigError(f"projection '{projection}' of {role} is not one of {', '.join(PROJECTIONS)}")
        self.keys = {p: frozen_key(cfg, layer_idx, role, p) for p in ('W0', 'W', 'B', 'G', 'perm')}  # P's seeds
        self.projection, self.cache, self.pure = projection, cfg.basis_cache, pure
        self.delta = self.delta_key = self.grad_sum = None          # ProjectAlpha's per-step state
        self.project_grad, self.uses = True, 1
        if not pure:  # the pure form W = c P α has no offset
            self.register_buffer('W0', randn((out_features, in_features), self.keys['W0'], std), persistent=False)
        self.set_dim(d)

    def set_dim(self, d):
        """d coefficients: the transform length N and (basis_cache) the buffers follow it. SAID calls it again once
        the factory knows how many per-tensor scales its budget holds."""
        D, projection = self.n_emulated, self.projection
        self.d, self.N = d, {'dense': D, 'fastfood': next_pow2(max(D, d)), 'fft': max(D, d)}[projection]
        if self.cache:
            if projection == 'dense':
                self.register_buffer('Wk', torch.cat([Wk for _, Wk in self._directions(None)]), persistent=False)
            else:
                for name in ('B', 'G', 'perm') if projection == 'fastfood' else ('B', 'perm'):
                    self.register_buffer(name, self._draw(name, None), persistent=False)

    def _draw(self, name, device):
        """fastfood / fft: one random part of P, drawn from its key on device (None: the default device)."""
        N, d, fastfood = self.N, self.d, self.projection == 'fastfood'
        if name == 'B':
            return philox.signs(self.keys['B'], d if fastfood else N, device)       # ±1, (d,): fastfood reads B[:d]
        if name == 'G':
            return philox.signs(self.keys['G'], N, device)                          # ±1, (L,): H G Π H / L orthogonal
        idx = torch.arange(N if fastfood else d, device=device)                     # fft reads perm[:d] only
        return philox.perm(self.keys['perm'], N, idx)

    def random_parts(self, device, names):
        """fastfood / fft: {name: tensor} of the named parts (B, G, perm) on device, cached or drawn."""
        return {name: getattr(self, name) if self.cache else self._draw(name, device) for name in names}

    def fold(self, device):
        """fastfood: perm mod m, (L,), m = next_pow2(d): all the tile/fold trick reads of Π (philox.perm_mod)."""
        m = next_pow2(self.d)
        return self.perm & (m - 1) if self.cache else philox.perm_mod(self.keys['perm'], self.N, m, device)

    def _directions(self, device):
        """dense: yields (k0, Wk) with Wk (c, D) the unit-norm directions k0 .. k0+c-1, c*D <= max(D, BASIS_CHUNK),
        direction k = signs / sqrt(D) from stream k of the key 'W' on device (32 signs per Philox word)."""
        if self.cache and hasattr(self, 'Wk'):
            yield 0, self.Wk
            return
        D = self.n_emulated
        c = max(1, BASIS_CHUNK // D)
        for k0 in range(0, self.d, c):
            Wk = philox.signs(self.keys['W'], D, device, stream=range(k0, min(k0 + c, self.d)))      # (c, D)
            yield k0, Wk.mul_(1 / math.sqrt(D))

    def project(self, alpha):
        """P α: (d,) -> (D,), flat like W.view(-1). Called without autograd by ProjectAlpha."""
        d, D, N = self.d, self.n_emulated, self.N
        if self.projection == 'dense':
            delta = alpha.new_zeros(D)
            for k0, Wk in self._directions(alpha.device):
                delta += alpha[k0:k0 + Wk.size(0)] @ Wk                          # sum_k α_k W_k, c directions at once
            return delta
        if self.projection == 'fastfood':
            r, m = self.random_parts(alpha.device, ('B', 'G')), next_pow2(d)
            scale = 1 / math.sqrt(N * D)                                               # on the short vector
            h = hadamard_transform(F.pad(alpha * r['B'], (0, m - d)), scale=scale)     # H_m B [α; 0]     (m,)
            h = hadamard_transform(h[self.fold(alpha.device)].mul_(r['G']), scale=1.0)  # H G Π H B [α; 0] (L,)
            return h[:D]                        # H_L [v; 0] = tile(H_m v): (Π tile(u))_i = u[perm[i] mod m]
        r = self.random_parts(alpha.device, ('B', 'perm'))
        x = alpha.new_zeros(N).index_copy_(0, r['perm'], alpha)                       # Π^T [α; 0]       (N,)
        return (hartley(x) * r['B'])[:D] * math.sqrt(N / D)

    def project_T(self, g):
        """P^T g: (D,) -> (d,), the transposed factors in reverse order; g is the flat G_W."""
        d, D, N = self.d, self.n_emulated, self.N
        if self.projection == 'dense':
            return torch.cat([Wk @ g for _, Wk in self._directions(g.device)])     # <G_W, W_k>
        if self.projection == 'fastfood':
            r, m = self.random_parts(g.device, ('B', 'G')), next_pow2(d)
            h = hadamard_transform(F.pad(g, (0, N - D)), scale=1.0).mul_(r['G'])        # G H [g; 0]       (L,)
            h = h.new_zeros(m).index_add_(0, self.fold(g.device), h)                   # fold of Π^T h    (m,)
            return hadamard_transform(h, scale=1 / math.sqrt(N * D))[:d] * r['B']      # (H_L w)[:m] = H_m fold(w)
        r = self.random_parts(g.device, ('B', 'perm'))
        y = F.pad(g * math.sqrt(N / D), (0, N - D)) * r['B']
        return hartley(y)[r['perm']]

    def coefficients(self):
        """(α (d,), c): the coefficients and the column scale, a float or a 0-d tensor."""
        raise NotImplementedError

    def weight(self):
        """The effective weight W0 + c ΔW (pure form: c ΔW), (out, in)."""
        alpha, c = self.coefficients()
        # kept for evaluation, micro-steps before the last, and the later layers that share this module
        keep = self.uses > 1 or not (torch.is_grad_enabled() and self.project_grad)
        delta = ProjectAlpha.apply(alpha, self, keep).view(self.out_features, self.in_features)   # (out, in)
        if self.pure:
            return c * delta
        return self.W0 + c * delta if torch.is_tensor(c) else torch.add(self.W0, delta, alpha=c)

    def forward(self, x):
        return F.linear(x, self.weight())

    @property
    def n_frozen(self):
        return self.n_emulated * (not self.pure) + self.n_frozen_per_step

    @property
    def n_frozen_per_step(self):
        """The projection's random values: used once per step to build ΔW, never per token."""
        return {'dense': self.d * self.n_emulated, 'fastfood': self.N + self.d, 'fft': self.N}[self.projection]

    def cache_bytes(self):
        return sum(b.numel() * b.element_size() for name, b in self.named_buffers(recurse=False) if name != 'W0')

    def flops_fwd(self, tokens):
        return 2 * tokens * self.n_emulated

    def flops_bwd(self, tokens, needs_input_grad):
        return 2 * tokens * self.n_emulated * (1 + needs_input_grad)  # G_W (for grad α) + input grad

    def flops_step(self):
        """ΔW = P α and grad α = P^T G_W once per optimizer step (ProjectAlpha), plus D for W0 + ΔW."""
        d, D, N = self.d, self.n_emulated, self.N
        if self.projection == 'dense':
            one_way = 2 * d * D                                     # a multiply-add per entry and direction
        elif self.projection == 'fastfood':
            m = next_pow2(d)                                        # H_L on [v; 0] costs H_m and a gather of L
            one_way = N * int(math.log2(N)) + m * int(math.log2(m)) + d + 2 * N + D   # Hadamards, B, G, Π, divisor
        else:
            one_way = 5 * N * math.ceil(math.log2(N)) + 2 * N       # one complex FFT, Hartley and B
        return 2 * one_way + D * (not self.pure)

    def extra_repr(self):
        return (super().extra_repr() + f', d={self.d}, projection={self.projection}' + (', pure' if self.pure else '')
                + (', cached' if self.cache else ''))


class BasisLinear(RandomBasisLinear):
    """W = W0 + sum_{k=1..d} α_k W_k, d = cfg.basis_dim coefficients per layer, W_k unit-norm random directions.
    α learns at lr sqrt(D / d) ALPHA_ADAM, a dense Adam step's size, measured (docs/variants.md#learning-rates).
    basis_form='pure': W = sum_k α_k W_k with no W0 (Ghosh's blog post); α then starts with norm std sqrt(D), so
    that W has the dense std: random signs (basis_alpha_init='normal') or all alike ('equal')."""
    def __init__(self, cfg, role, layer_idx, in_features, out_features, std):
        d = cfg.basis_dim
        if d > in_features * out_features:
            raise ConfigError(f'basis_dim={d} exceeds the {in_features * out_features} entries of a {in_features}->'
                              f'{out_features} {role} layer: the directions could not be independent; lower it')
        pure = cfg.basis_form == 'pure'
        super().__init__(cfg, role, layer_idx, in_features, out_features, std, d, cfg.basis_projection, pure)
        alpha = torch.zeros(d)                                                    # (d,) offset form: W starts at W0
        if pure:  # ||α|| = std sqrt(D): with unit-norm, near-orthogonal columns, ||W||_F = std sqrt(D)
            alpha = torch.randn(d) if cfg.basis_alpha_init == 'normal' else torch.ones(d)
            alpha = alpha * std * math.sqrt(self.n_emulated) / alpha.norm()
        self.alpha = nn.Parameter(alpha)
        self.lr_mult = {'alpha': cfg.variant_lr_mult * math.sqrt(self.n_emulated / d) * ALPHA_ADAM}
        self.decay = {'alpha': 1.0}   # W shrinks toward W0 (pure form: toward 0), as LoRA's

    def coefficients(self):
        return self.alpha, 1.0


class IntrinsicVector(nn.Module):
    """θ_d, the intrinsic model's d = cfg.intrinsic_dim coefficients: one parameter shared by every IntrinsicLinear
    that one LinearFactory builds, registered once, on the GPT (model.intrinsic.alpha). D, the number of weights
    those layers emulate, grows as the factory builds them."""
    family = 'intrinsic:alpha'
    n_frozen = n_frozen_per_step = n_emulated = 0

    def __init__(self, cfg):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(cfg.intrinsic_dim))                 # (d,)
        self.variant_lr_mult, self.D = cfg.variant_lr_mult, 0
        self.decay = {'alpha': 1.0}

    @property
    def n_trainable(self):
        return self.alpha.numel()

    @property
    def lr_mult(self):  # BasisLinear's rule for a global vector
        return {'alpha': self.variant_lr_mult * math.sqrt(self.D / self.alpha.numel()) * ALPHA_ADAM}


class IntrinsicLinear(RandomBasisLinear):
    """One slice of the intrinsic model θ = θ0 + P α (Li et al. 2018; Aghajanyan et al. 2021): W = W0 + c P_l α,
    α the model's one IntrinsicVector, P_l this layer's own projection. c = sqrt(D_l / D) gives the stacked P
    unit-norm columns; SAID (cfg.intrinsic_said) adds one trained λ per tensor, taken out of the d: α then has
    d - #tensors entries (LinearFactory.finish; docs/variants.md#intrinsic).
    """
    def __init__(self, cfg, role, layer_idx, in_features, out_features, std, intrinsic):
        super().__init__(cfg, role, layer_idx, in_features, out_features, std, cfg.intrinsic_dim,
                         cfg.intrinsic_projection)
        self.shared = [intrinsic]    # a list: the vector is registered on the GPT, not once per layer
        intrinsic.D += self.n_emulated
        if cfg.intrinsic_said:
            self.lam = nn.Parameter(torch.ones(()))                             # SAID's λ for this tensor

    def coefficients(self):
        intrinsic = self.shared[0]
        scale = math.sqrt(self.n_emulated / intrinsic.D)
        return intrinsic.alpha, (self.lam * scale if hasattr(self, 'lam') else scale)


# name -> class; variants that take a rank get it from resolve_ranks()
VARIANTS = {
    'dense': DenseLinear,
    'lowrank': LowRankLinear,
    'lora': LoRALinear,
    'frozen': FrozenLinear,
    'fastfood': FastfoodLinear,
    'blockdiag': BlockDiagLinear,
    'basis': BasisLinear,
    'intrinsic': IntrinsicLinear,
}
RANKED = ('lowrank', 'lora')


# -----------------------------------------------------------------------------
# the factory

def variant_of(cfg, role):
    family = role.split('.')[0]
    override = cfg.attn_linear if family == 'attn' else cfg.mlp_linear
    return override or cfg.linear


def break_even_rank(m, n):
    """The rank at which B A holds as many parameters as the dense m x n weight: mn / (m + n)."""
    return m * n / (m + n)


def schedule_rank(schedule, r, rank_min, layer_idx, n_layer):
    """Per-layer rank from a base rank r. t = layer / (L - 1) runs from 0 (first layer) to 1 (last).
    increasing / decreasing: Armstrong's Inc / Dec ramps, doubling / halving per layer from rank_min / to r;
    linear, step, exponential, neg_quadratic (Gillis's four): r at the first layer down to rank_min at the last,
    along a line, a step at half depth, a geometric curve, and r - (r - rank_min) t^2 (docs/variants.md)."""
    L, l = n_layer, layer_idx
    t = l / (L - 1) if L > 1 else 0.0
    if schedule == 'constant':
        x = r
    elif schedule == 'increasing':
        x = r / 2 ** (L - 1 - l)
    elif schedule == 'decreasing':
        x = r / 2 ** l
    elif schedule == 'linear':
        x = r + (rank_min - r) * t
    elif schedule == 'step':
        x = r if l < L / 2 else rank_min
    elif schedule == 'exponential':
        x = r * (rank_min / r) ** t
    elif schedule == 'neg_quadratic':
        x = r - (r - rank_min) * t * t
    return max(rank_min, int(round(x)))


def resolve_ranks(cfg, role, in_features, out_features):
    """The rank of `role` in every layer, as a list of n_layer ints."""
    family = role.split('.')[0]
    key = f'{family}_rank'
    spec = getattr(cfg, key)
    L, lo = cfg.n_layer, min(in_features, out_features)
    if isinstance(spec, (list, tuple)):
        if len(spec) != L:
            raise ConfigError(f'{key} has {len(spec)} entries but n_layer={L}: give one rank per layer')
        ranks = [int(r) for r in spec]
    else:
        if isinstance(spec, float) and not isinstance(spec, bool):
            if not 0 < spec <= 1:
                raise ConfigError(f'{key}={spec}: a float rank is a fraction of the break-even rank, in (0, 1]')
            r = max(1, int(round(spec * break_even_rank(out_features, in_features))))
        else:
            r = int(spec)
        if r < 1:
            raise ConfigError(f'{key}={spec}: a rank must be at least 1')
        rank_min = cfg.rank_min or max(1, r // 8)
        if not 1 <= rank_min <= r:
            raise ConfigError(f'rank_min={cfg.rank_min} must be between 1 and the rank {r} of {key}')
        ranks = [schedule_rank(cfg.rank_schedule, r, rank_min, l, L) for l in range(L)]
    for l, r in enumerate(ranks):
        if not 1 <= r <= lo:
            raise ConfigError(f'{key}: rank {r} at layer {l} is outside [1, {lo}] for a {in_features}->{out_features} '
                              f'{role} layer; lower it')
    return ranks


class LinearFactory:
    """make_linear for one model: builds every matmul of its blocks, and owns what variants share across layers (the
    intrinsic model's one α). Called as make_linear(cfg, role, layer_idx, in_features, out_features)."""
    def __init__(self):
        self.intrinsic = None     # the IntrinsicVector, made by the first intrinsic layer
        self.built = []

    def __call__(self, cfg, role, layer_idx, in_features, out_features):
        self.cfg = cfg
        name = variant_of(cfg, role)
        needs = {}
        if name in RANKED:
            needs['rank'] = resolve_ranks(cfg, role, in_features, out_features)[layer_idx]
        if name == 'intrinsic':
            self.intrinsic = self.intrinsic or IntrinsicVector(cfg)
            needs['intrinsic'] = self.intrinsic
        layer = VARIANTS[name](cfg, role, layer_idx, in_features, out_features, init_std(cfg, role, in_features),
                               **needs)
        self.built.append(layer)
        return layer

    def finish(self):
        """Once every layer is built: checks d against D, says what basis_cache costs, returns the IntrinsicVector
        (None without intrinsic layers) for the GPT to register."""
        bases = [m for m in self.built if isinstance(m, RandomBasisLinear)]
        if self.intrinsic is not None and self.intrinsic.alpha.numel() > self.intrinsic.D:
            raise ConfigError(f'intrinsic_dim={self.intrinsic.alpha.numel()} exceeds the {self.intrinsic.D} weights '
                              f'of the intrinsic layers; lower it')
        said = [m for m in bases if isinstance(m, IntrinsicLinear) and hasattr(m, 'lam')]
        if said:  # Aghajanyan's budget: d = len(α) + #tensors, one λ each
            d = self.cfg.intrinsic_dim - len(said)
            if d < 1:
                raise ConfigError(f'intrinsic_dim={self.cfg.intrinsic_dim} with intrinsic_said=True must exceed the '
                                  f'{len(said)} per-tensor scales it includes; raise it')
            self.intrinsic.alpha = nn.Parameter(torch.zeros(d))                # (d - #tensors,)
            for m in said:
                m.set_dim(d)
        cache = sum(m.cache_bytes() for m in bases)
        if cache:
            print(f'basis_cache: {cache:,} bytes of buffers hold the random directions of {len(bases)} layers')
        return self.intrinsic


def make_linear(cfg, role, layer_idx, in_features, out_features):
    """One layer on its own (tests, benchmarks); a GPT's layers all come from its one LinearFactory."""
    validate(cfg)
    return LinearFactory()(cfg, role, layer_idx, in_features, out_features)


# -----------------------------------------------------------------------------
# the transformer

def upcast(x):
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x   # fp32 math for 16-bit tensors


class RMSNormFn(torch.autograd.Function):
    """y = x / sqrt(mean(x^2) + eps) (* w) over the last dim, eps = finfo(x.dtype).eps: F.rms_norm's function, computed
    in fp32, in 2 passes forward and about 5 backward where F.rms_norm on CPU takes 6 and 10 (a fifth of the dense
    step was norms). Saves the normalised x and 1/rms."""
    @staticmethod
    def forward(ctx, x, w):
        xf = upcast(x)
        r = torch.linalg.vector_norm(xf, dim=-1, keepdim=True).square_().div_(x.size(-1))
        r = r.add_(torch.finfo(x.dtype).eps).rsqrt_()                       # (..., 1) 1/rms
        n = xf * r                                                          # (..., C)
        ctx.save_for_backward(n, r, w)
        return (n if w is None else n * w).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        n, r, w = ctx.saved_tensors
        gf = upcast(g)
        if w is None:
            gn, dw, p = gf, None, torch.empty_like(n)
        else:
            p = gf * n                                                      # (..., C) g ⊙ n
            dw = p.flatten(0, -2).sum(0).to(w.dtype)
            gn = gf * w
        # linalg.vecdot(gn, n) is (gn * n).sum(-1); it goes into p's buffer, dx then into gn's (or p's): fewer new
        # (..., C) tensors, since on a CPU filling fresh memory costs more than these light ops' arithmetic
        dot = torch.mul(gn, n, out=p).sum(-1, keepdim=True).div_(n.size(-1))  # (..., 1) mean(gn ⊙ n)
        dx = torch.addcmul(gn, n, dot, value=-1, out=p if w is None else gn).mul_(r)  # (gn - n mean(gn ⊙ n)) / rms
        return dx.to(g.dtype), dw


def norm(x):
    return RMSNormFn.apply(x, None)


class RMSNorm(nn.Module):
    """nn.RMSNorm's parameter and state-dict key (weight, init 1), computed by RMSNormFn."""
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return RMSNormFn.apply(x, self.weight)


def rotate(x, C, S, sign, out=None):
    """C ⊙ x + sign S ⊙ swap(x) for x: (..., 2, hd/2), swap exchanging the two halves: one product (in out, if
    given), then each half gets the other half's term in place (a flip would copy x and allocate one more tensor)."""
    y = x * C if out is None else out.copy_(x).mul_(C)  # copy_ then mul_: torch.compile takes no strided out=
    (y1, y2), (x1, x2), (S1, S2) = y.unbind(-2), x.unbind(-2), S.unbind(-2)
    y1.addcmul_(x2, S1, value=sign)
    y2.addcmul_(x1, S2, value=sign)
    return y


class NormRotaryFn(torch.autograd.Function):
    """QK-norm then rotary, one op, in x's own buffer: n = x / rms(x), then the pairs (n1, n2) of the two halves
    rotated by +θ, y = (n1 cos - n2 sin, n2 cos + n1 sin) = C ⊙ n + S ⊙ swap(n), C = (cos, cos), S = (-sin, sin),
    swap(n) = (n2, n1): no chunk/cat. The backward rotates the gradient by -θ, C ⊙ g - S ⊙ swap(g), then takes the
    RMS-norm backward. x: (B, T, m * nh * hd), the heads of m tensors side by side (q, k, v of one matmul, or one of
    them); the first `rot` are normed and rotated, the rest pass. x is a fresh matmul output, rotated in its own
    buffer (marked dirty): no new tensor for the result. C, S: (T, 1, 1, 2, hd/2)."""
    @staticmethod
    def forward(ctx, x, C, S, heads, rot):
        xs = x.view(*x.shape[:2], -1, *heads)[:, :, :rot]                  # (B, T, rot, nh, hd)
        xf = upcast(xs)
        r = torch.linalg.vector_norm(xf, dim=-1, keepdim=True).square_().div_(xs.size(-1))
        r = r.add_(torch.finfo(x.dtype).eps).rsqrt_()                       # (..., 1) 1/rms
        n = (xf * r).unflatten(-1, (2, -1))                                 # (..., 2, hd/2)
        ctx.mark_dirty(x)
        ctx.save_for_backward(n, r, C, S)
        ctx.heads, ctx.rot = heads, rot
        if xs is xf:
            rotate(n, C, S, 1, out=xs.unflatten(-1, (2, -1)))
        else:  # 16-bit x: rotated in fp32, rounded once
            xs.copy_(rotate(n, C, S, 1).flatten(-2))
        return x

    @staticmethod
    def backward(ctx, g):
        n, r, C, S = ctx.saved_tensors
        g = g.reshape(*g.shape[:2], -1, *ctx.heads)                         # (B, T, m, nh, hd)
        gn = rotate(upcast(g[:, :, :ctx.rot]).unflatten(-1, (2, -1)), C, S, -1).flatten(-2)  # R(-θ) g
        n = n.flatten(-2)
        dot = torch.linalg.vecdot(gn, n).unsqueeze(-1).div_(n.size(-1))    # (..., 1) mean(gn ⊙ n)
        dx = gn.addcmul_(n, dot, value=-1).mul_(r).to(g.dtype)              # (gn - n mean(gn ⊙ n)) / rms
        if ctx.rot < g.size(2):                                             # the unrotated heads' gradient as is
            dx = torch.cat((dx, g[:, :, ctx.rot:]), 2)
        return dx.flatten(2), None, None, None, None


class Rotary(nn.Module):
    """QK-norm and rotary (NormRotaryFn) at positions pos .. pos + T - 1."""
    def __init__(self, head_dim, max_len, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        t = torch.arange(max_len, dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)                                    # (T, hd/2)
        cos, sin = freqs.cos(), freqs.sin()
        self.register_buffer('C', torch.stack((cos, cos), 1), persistent=False)     # (T, 2, hd/2)
        self.register_buffer('S', torch.stack((-sin, sin), 1), persistent=False)

    def forward(self, x, pos, n_head, rot=1):
        # x: (B, T, m * n_head * hd), a fresh tensor: its first rot tensors' heads normed and rotated in place
        T, shape = x.size(1), (x.size(1), 1, 1, 2, -1)                      # C, S: (T, 1, 1, 2, hd/2)
        heads = (n_head, 2 * self.C.size(-1))                               # (nh, hd)
        return NormRotaryFn.apply(x, self.C[pos:pos + T].view(shape), self.S[pos:pos + T].view(shape), heads, rot)


class Attention(nn.Module):
    def __init__(self, cfg, layer_idx, make_linear):
        super().__init__()
        d = cfg.n_embd
        self.n_head, self.head_dim, self.dropout = cfg.n_head, d // cfg.n_head, cfg.dropout
        self.q = make_linear(cfg, 'attn.q', layer_idx, d, d)
        self.k = make_linear(cfg, 'attn.k', layer_idx, d, d)
        self.v = make_linear(cfg, 'attn.v', layer_idx, d, d)
        self.o = make_linear(cfg, 'attn.o', layer_idx, d, d)
        self.rotary = Rotary(self.head_dim, cfg.block_size)
        self.dense_qkv = all(type(m) is DenseLinear for m in (self.q, self.k, self.v))  # one matmul for the three

    def forward(self, x, cache=None, pos=0):
        B, T, C = x.size()
        nh, hd = self.n_head, self.head_dim
        if self.dense_qkv:
            qkv = F.linear(x, torch.cat((self.q.weight, self.k.weight, self.v.weight)))   # (B, T, 3C)
            q, k, v = self.rotary(qkv, pos, nh, rot=2).view(B, T, 3, nh, hd).unbind(2)  # q, k normed and rotated
        else:  # q and k rotated in their matmuls' outputs
            q, k = (self.rotary(m.fresh(x), pos, nh).view(B, T, nh, hd) for m in (self.q, self.k))
            v = self.v(x).view(B, T, nh, hd)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, nh, T, hd)
        if cache is not None:
            k, v = cache.update(k, v, pos)  # (B, nh, pos + T, hd)
        dropout = self.dropout if self.training else 0.0
        if T == k.size(2):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout)
        else:  # decoding with a cache: query t sees keys up to pos + t
            mask = torch.arange(k.size(2), device=x.device)[None, :] <= pos + torch.arange(T, device=x.device)[:, None]
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        return self.o(y.transpose(1, 2).reshape(B, T, C))


class Relu2Fn(torch.autograd.Function):
    """relu(h)^2 written into h (h = fc(x), kept by nothing else; marked dirty), saving relu(h), whose buffer then
    takes the gradient 2 relu(h) g: one new (B, T, 4C) tensor forward and none backward, as a GELU takes, where
    out-of-place ops take three (on a CPU, filling fresh memory costs more than this arithmetic). The same floats
    as relu(h) * relu(h) and (r * g) * 2. A second backward through the graph fails loudly: r is spent."""
    @staticmethod
    def forward(ctx, h):
        r = F.relu(h)
        ctx.mark_dirty(h)
        ctx.save_for_backward(r)
        torch.mul(r, r, out=h)
        return h

    @staticmethod
    def backward(ctx, g):
        r, = ctx.saved_tensors
        return r.mul_(g).mul_(2)


class MLP(nn.Module):
    def __init__(self, cfg, layer_idx, make_linear, hidden=None):
        super().__init__()
        d, hidden = cfg.n_embd, hidden or cfg.mlp_ratio * cfg.n_embd
        self.act = cfg.mlp
        self.fc = make_linear(cfg, 'mlp.fc', layer_idx, d, hidden)
        if cfg.mlp == 'swiglu':
            self.gate = make_linear(cfg, 'mlp.gate', layer_idx, d, hidden)
        self.proj = make_linear(cfg, 'mlp.proj', layer_idx, hidden, d)

    def forward(self, x):
        if self.act == 'relu2':
            return self.proj(Relu2Fn.apply(self.fc.fresh(x)))
        h = self.fc(x)
        h = F.gelu(h) if self.act == 'gelu' else F.silu(self.gate(x)) * h
        return self.proj(h)


class Block(nn.Module):
    """A trainable transformer layer: x + attn(norm(x)), then x + mlp(norm(x)). share_what='attn' / 'mlp' hands it
    another layer's attention / MLP module to reuse."""
    def __init__(self, cfg, layer_idx, make_linear, attn=None, mlp=None):
        super().__init__()
        self.ln_1, self.attn = RMSNorm(cfg.n_embd), attn or Attention(cfg, layer_idx, make_linear)
        self.ln_2, self.mlp = RMSNorm(cfg.n_embd), mlp or MLP(cfg, layer_idx, make_linear)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, cache=None, pos=0):
        x = x + self.drop(self.attn(self.ln_1(x), cache, pos))
        return x + self.drop(self.mlp(self.ln_2(x)))


class FrozenMLPBlock(nn.Module):
    """A doped layer (Chatelain et al. 2021): x + mlp(norm(x)) with a frozen random MLP of width
    frozen_mlp_ratio * n_embd, parameter-free norm, no attention. Nothing here is trained or stored."""
    def __init__(self, cfg, layer_idx, make_linear):
        super().__init__()
        frozen = replace(cfg, linear='frozen', attn_linear='', mlp_linear='')
        self.mlp = MLP(frozen, layer_idx, make_linear, hidden=cfg.frozen_mlp_ratio * cfg.n_embd)

    def forward(self, x, cache=None, pos=0):
        return x + self.mlp(norm(x))


class FrozenBlock(Block):
    """doped_layer='block': a whole frozen random decoder layer, attention and an mlp_ratio-wide MLP, parameter-free
    norms (the variant Chatelain et al. 2021 report as matching the frozen MLP). A Block, so it takes a KV cache."""
    def __init__(self, cfg, layer_idx, make_linear):
        super().__init__(replace(cfg, linear='frozen', attn_linear='', mlp_linear=''), layer_idx, make_linear)
        self.ln_1 = nn.RMSNorm(cfg.n_embd, elementwise_affine=False)
        self.ln_2 = nn.RMSNorm(cfg.n_embd, elementwise_affine=False)


def layer_pattern(cfg):
    """'T' (trainable block) or 'F' (frozen MLP layer) per layer."""
    if isinstance(cfg.doped, str):
        pattern = cfg.doped.upper()
        if len(pattern) != cfg.n_layer or set(pattern) - set('TF'):
            raise ConfigError(f"doped='{cfg.doped}' must be a string of T and F of length n_layer={cfg.n_layer}")
        return pattern
    if not cfg.doped:
        return 'T' * cfg.n_layer
    # Chatelain et al. 2021: alternate, first and last trainable (5 layers -> TFTFT: 3 trainable + 2 frozen)
    return ''.join('T' if l % 2 == 0 or l == cfg.n_layer - 1 else 'F' for l in range(cfg.n_layer))


def block_index(cfg, pattern):
    """Which unique module each layer uses. share='all': every trainable layer reuses one block;
    share=k: groups of k consecutive trainable layers share one; frozen layers are never shared."""
    share = cfg.share
    if share in ('none', 0, 1, '1'):
        return list(range(cfg.n_layer))
    if share != 'all':
        try:
            share = int(share)
        except (TypeError, ValueError):
            raise ConfigError(f"share='{cfg.share}' must be 'none', 'all' or a group size k >= 1")
        if share < 1:
            raise ConfigError(f'share={cfg.share} must be a group size k >= 1')
        if share > pattern.count('T'):  # k equal to the count is one group, the same as 'all'
            raise ConfigError(f"share={cfg.share} is larger than the {pattern.count('T')} trainable layers: use "
                              f"share='all' for one block, or a group size up to {pattern.count('T')}")
    index, first_of_group, t = [], {}, 0
    for l, kind in enumerate(pattern):
        if kind == 'F':
            index.append(l)
            continue
        group = 0 if share == 'all' else t // share
        first_of_group.setdefault(group, l)
        index.append(first_of_group[group])
        t += 1
    return index


class KVCache:
    """Keys and values of every layer for the first `pos` positions; grows by T at each update."""
    def __init__(self, n_layer, batch, n_head, head_dim, max_len, device, dtype):
        shape = (n_layer, batch, n_head, max_len, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.layer = 0

    def update(self, k, v, pos):
        T = k.size(2)
        self.k[self.layer, :, :, pos:pos + T] = k
        self.v[self.layer, :, :, pos:pos + T] = v
        out = self.k[self.layer, :, :, :pos + T], self.v[self.layer, :, :, :pos + T]
        self.layer += 1
        return out


def validate(cfg):
    """Fail early, with one line naming the key, for every shape the model cannot be built with."""
    for key in ('block_size', 'vocab_size', 'n_layer', 'n_head', 'n_embd', 'mlp_ratio', 'blocks',
                'basis_dim', 'intrinsic_dim', 'frozen_mlp_ratio'):
        v = getattr(cfg, key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f'{key}={v!r} must be a positive integer')
    if cfg.embd_dim < 0:
        raise ConfigError(f'embd_dim={cfg.embd_dim} must be 0 (no factorization) or a positive width')
    if cfg.n_embd % cfg.n_head:
        raise ConfigError(f'n_embd={cfg.n_embd} is not divisible by n_head={cfg.n_head}')
    if (cfg.n_embd // cfg.n_head) % 2:
        raise ConfigError(f'head size n_embd/n_head={cfg.n_embd // cfg.n_head} must be even for rotary embeddings')
    if cfg.mlp not in ('relu2', 'gelu', 'swiglu'):
        raise ConfigError(f"mlp='{cfg.mlp}' is not one of relu2, gelu, swiglu")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ConfigError(f'dropout={cfg.dropout} must be in [0, 1)')
    for key, valid in (('basis_form', ('offset', 'pure')), ('basis_alpha_init', ('normal', 'equal')),
                       ('blockdiag_mix', ('each', 'between')), ('share_what', ('block', 'attn', 'mlp')),
                       ('doped_layer', ('mlp', 'block'))):
        if getattr(cfg, key) not in valid:
            raise ConfigError(f"{key}={getattr(cfg, key)!r} is not one of {', '.join(valid)}")
    for key in ('lora_alpha', 'variant_lr_mult'):  # 0 has a meaning, see GPTConfig
        if getattr(cfg, key) < 0:
            raise ConfigError(f'{key}={getattr(cfg, key)} must not be negative')
    if cfg.rank_schedule not in RANK_SCHEDULES:
        raise ConfigError(f"rank_schedule='{cfg.rank_schedule}' is not one of {', '.join(RANK_SCHEDULES)}")
    for key in ('linear', 'attn_linear', 'mlp_linear'):
        v = getattr(cfg, key)
        if (v or key == 'linear') and v not in VARIANTS:
            raise ConfigError(f"{key}='{v}' is not a linear variant; valid: {', '.join(VARIANTS)}")


class GPT(nn.Module):

    def __init__(self, cfg):
        super().__init__()
        validate(cfg)
        self.config = cfg
        V, H, E = cfg.vocab_size, cfg.n_embd, cfg.embd_dim
        self.pattern = layer_pattern(cfg)
        owner = block_index(cfg, self.pattern)   # the layer whose block (or shared part) each layer uses
        self.block_of_layer = owner if cfg.share_what == 'block' else list(range(cfg.n_layer))
        # unique modules only; layer l runs h[block_of_layer[l]], so shared blocks are stored once. share_what
        # 'attn' / 'mlp': every layer has its block, built around its group's one attention / MLP module. One
        # factory builds every block's matmuls and the intrinsic alpha they share.
        make_linear = LinearFactory()
        frozen_layer = FrozenBlock if cfg.doped_layer == 'block' else FrozenMLPBlock
        self.h = nn.ModuleDict()
        for l in sorted(set(self.block_of_layer)):
            if self.pattern[l] == 'F':
                self.h[str(l)] = frozen_layer(cfg, l, make_linear)
                continue
            part = {} if owner[l] == l else {cfg.share_what: getattr(self.h[str(owner[l])], cfg.share_what)}
            self.h[str(l)] = Block(cfg, l, make_linear, **part)
        self.intrinsic = make_linear.finish()  # the intrinsic model's one shared alpha, or None
        uses = [m for _, _, m in self.variant_modules() if isinstance(m, RandomBasisLinear)]
        self.bases = tuple({id(m): m for m in uses}.values())  # for last_micro_step; a tuple, not submodules
        for m in self.bases:
            m.uses = sum(u is m for u in uses)                   # a shared basis reuses its ΔW within a forward
        self.wte = nn.Embedding(V, E or H)
        self.embd_proj = nn.Linear(E, H, bias=False) if E else None   # ALBERT: V x E, then E x H
        self.ln_f = RMSNorm(H)
        self.lm_head = None if cfg.tie_embeddings else nn.Linear(H, V, bias=False)
        self.drop = nn.Dropout(cfg.dropout)
        # embeddings: untied wte ~ N(0, 1) (normed right after lookup); tied ~ N(0, 1/sqrt(width)) since it is
        # also the head; the head starts small so that the initial loss is ln(V) whatever the body does
        nn.init.normal_(self.wte.weight, std=1.0 if self.lm_head is not None else (E or H) ** -0.5)
        if self.embd_proj is not None:
            nn.init.normal_(self.embd_proj.weight, std=E ** -0.5)
        if self.lm_head is not None:
            nn.init.normal_(self.lm_head.weight, std=0.02 * H ** -0.5)

    def layers(self):
        return [self.h[str(b)] for b in self.block_of_layer]

    def embed(self, idx):
        x = self.wte(idx)
        if self.embd_proj is not None:
            x = self.embd_proj(x)
        return self.drop(norm(x))

    def logits(self, x):
        x = self.ln_f(x)
        if self.lm_head is not None:
            return self.lm_head(x)
        if self.embd_proj is not None:  # tied factorized head mirrors the embedding: H -> E -> V
            x = x @ self.embd_proj.weight
        return F.linear(x, self.wte.weight)

    def forward(self, idx, targets=None, cache=None, pos=0, reduction='mean'):
        """idx: (B, T) token ids. Returns (logits (B, T, V), loss or None)."""
        x = self.embed(idx)
        if cache is not None:
            cache.layer = 0
        for layer in self.layers():
            x = layer(x, cache if isinstance(layer, Block) else None, pos)
        logits = self.logits(x).float()
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1,
                               reduction=reduction)
        return logits, loss

    def last_micro_step(self, last):
        """Gradient accumulation: call before each micro-step's backward, True on the last one. Random bases then
        project their summed G_W to grad α once per optimizer step (ProjectAlpha); earlier micro-steps give α 0."""
        for m in self.bases:
            m.project_grad = last

    # -- generation with a KV cache ---------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None):
        """Yields one (B, 1) tensor of new token ids at a time. Prefills the cache with the prompt, then feeds
        one token per step. When the context reaches block_size, the cache is rebuilt from the last
        block_size // 2 tokens (a sliding window, as nanoGPT crops its context)."""
        cfg = self.config
        n_attn = sum(1 for layer in self.layers() if isinstance(layer, Block))
        B = idx.size(0)
        idx = idx[:, -cfg.block_size:]
        make_cache = lambda: KVCache(n_attn, B, cfg.n_head, cfg.n_embd // cfg.n_head, cfg.block_size,
                                     idx.device, self.wte.weight.dtype)
        cache, context = make_cache(), idx
        logits, _ = self(context, cache=cache, pos=0)
        pos = context.size(1)
        for _ in range(max_new_tokens):
            next_id = sample_next(logits[:, -1, :], temperature, top_k, top_p, generator)
            yield next_id
            context = torch.cat((context, next_id), dim=1)
            if pos >= cfg.block_size:  # cache full: restart from the recent half of the context
                context = context[:, -(cfg.block_size // 2):]
                cache = make_cache()
                logits, _ = self(context, cache=cache, pos=0)
                pos = context.size(1)
            else:
                logits, _ = self(next_id, cache=cache, pos=pos)
                pos += 1

    # -- accounting -------------------------------------------------------------------------------------

    def variant_modules(self):
        """(layer index, role, module) for every use of a variant linear, shared ones once per use."""
        out = []
        for l, layer in enumerate(self.layers()):
            for name, m in layer.named_modules():
                if isinstance(m, VariantLinear):
                    out.append((l, name, m))
        return out

    def accounted(self):
        """(family, module) for every use of a module the accounting asks (n_trainable, n_frozen, n_emulated, ...):
        each variant linear once per layer that runs it, then what they share across layers once."""
        uses = [(f'{name.split(".")[0]}:{type(m).__name__}', m) for _, name, m in self.variant_modules()]
        shared = {id(s): s for _, m in uses for s in m.shared}.values()
        return uses + [(s.family, s) for s in shared]

    def embedding_params(self, head=True):
        """wte, the factorized projection and (head=True) the untied lm_head: the embedding parameters."""
        ps = [self.wte.weight] + ([self.embd_proj.weight] if self.embd_proj is not None else [])
        return ps + ([self.lm_head.weight] if head and self.lm_head is not None else [])

    def param_counts(self):
        """Exact parameter accounting. Storage counts (trainable, frozen) see each tensor once, however many
        layers share it; emulated counts the dense weights the network computes with, once per use."""
        emb_ids = {id(p) for p in self.embedding_params()}
        uniq = {id(p): p for p in self.parameters()}.values()
        trainable_emb = sum(p.numel() for p in uniq if p.requires_grad and id(p) in emb_ids)
        trainable_nonemb = sum(p.numel() for p in uniq if p.requires_grad and id(p) not in emb_ids)
        frozen_params = sum(p.numel() for p in uniq if not p.requires_grad)
        uses = self.accounted()
        frozen = frozen_params + sum(m.n_frozen for m in {id(m): m for _, m in uses}.values())
        emulated = sum(m.n_emulated for _, m in uses)
        families = {}
        for family, m in uses:
            fam = families.setdefault(family, [0, 0, 0, set()])
            if id(m) not in fam[3]:
                fam[0] += m.n_trainable
                fam[1] += m.n_frozen
                fam[3].add(id(m))
            fam[2] += m.n_emulated
        state = {t.data_ptr(): t.numel() * t.element_size() for t in self.state_dict().values()}
        return dict(trainable=trainable_emb + trainable_nonemb, trainable_embedding=trainable_emb,
                    trainable_nonembedding=trainable_nonemb, frozen=frozen, emulated_nonembedding=emulated,
                    checkpoint_bytes=sum(state.values()),
                    families={k: v[:3] for k, v in families.items()})

    def flops_per_token(self):
        """Structural FLOPs per training token, forward + backward (conventions: docs/variants.md#conventions).
        C_actual walks the network bottom up, paying an input gradient only where something below trains; work paid
        once per step (building a random basis's ΔW) is apart, in 'step'."""
        cfg = self.config
        counts = self.param_counts()
        below = any(p.requires_grad for p in self.embedding_params(head=False))
        actual, step = 0, 0
        for layer in self.layers():
            if isinstance(layer, Block):
                actual += 12 * cfg.n_embd * cfg.block_size
                below = below or any(p.requires_grad for p in layer.ln_1.parameters())
            trainable_here = False
            for m in [mod for mod in layer.modules() if isinstance(mod, VariantLinear)]:
                # q, k, v share an input; every later module's input depends on the ones before it
                actual += m.flops_fwd(1) + m.flops_bwd(1, below)
                trainable_here = trainable_here or m.n_trainable > 0
                step += m.flops_step()
            below = below or trainable_here or any(p.requires_grad for p in layer.parameters())
        V, H, E = cfg.vocab_size, cfg.n_embd, cfg.embd_dim
        head_trainable = self.lm_head is not None or self.wte.weight.requires_grad
        # forward, input grad, weight grad; a tied factorized head is H -> E -> V, through the embedding's bottleneck
        head = V * H if self.lm_head is not None or not E else H * E + E * V
        actual += 2 * head * (2 + head_trainable)
        if self.embd_proj is not None:  # the input side's E -> H: forward, weight grad, grad into the wte rows
            actual += 6 * E * H
        # frozen weights a token meets: a random basis's directions are used once per step, not per token
        n_frozen = counts['frozen'] - sum(m.n_frozen_per_step for m in {id(m): m for _, m in self.accounted()}.values())
        return dict(C_train=6 * counts['trainable_nonembedding'], C_actual=actual, step=step,
                    C_frozen_2_3=6 * counts['trainable_nonembedding'] + 4 * n_frozen,
                    C_frozen_0=6 * counts['trainable_nonembedding'])

    def param_report(self):
        """A table of what is trained, what is regenerated from seeds, and what it stands for."""
        c, f = self.param_counts(), self.flops_per_token()
        cfg = self.config
        lines = [f"{'family':<28}{'trainable':>14}{'frozen':>14}{'emulated':>14}"]
        for name, (tr, fr, em) in sorted(c['families'].items()):
            lines.append(f'{name:<28}{tr:>14,}{fr:>14,}{em:>14,}')
        norms = c['trainable_nonembedding'] - sum(v[0] for v in c['families'].values())
        lines.append(f"{'norms and other':<28}{norms:>14,}{0:>14,}{0:>14,}")
        lines.append(f"{'embeddings (wte, head)':<28}{c['trainable_embedding']:>14,}{0:>14,}{'':>14}")
        lines.append(f"{'total':<28}{c['trainable']:>14,}{c['frozen']:>14,}{c['emulated_nonembedding']:>14,}")
        lines.append(f"non-embedding trainable {c['trainable_nonembedding']:,} | frozen {c['frozen']:,} "
                     f"(regenerated from seeds, 0 bytes on disk) | checkpoint weights {c['checkpoint_bytes']:,} bytes")
        lines.append(f"FLOPs/token: C_train=6N {f['C_train']:,} | C_actual {f['C_actual']:,} | "
                     f"frozen at 2/3: {f['C_frozen_2_3']:,} | per-step extra {f['step']:,}")
        if self.pattern != 'T' * cfg.n_layer or self.block_of_layer != list(range(cfg.n_layer)):
            lines.append(f'layers {self.pattern} use blocks {self.block_of_layer}')
        return '\n'.join(lines)

    def rank_report(self):
        """The resolved per-layer ranks, one line per family with a ranked variant; '' if none."""
        cfg, lines = self.config, []
        for family, role, (m, n) in (('attn', 'attn.q', (cfg.n_embd, cfg.n_embd)),
                                     ('mlp', 'mlp.fc', (cfg.n_embd, cfg.mlp_ratio * cfg.n_embd))):
            if variant_of(cfg, role) in RANKED:
                ranks = resolve_ranks(cfg, role, m, n)
                how = 'as listed' if isinstance(getattr(cfg, f'{family}_rank'), (list, tuple)) else cfg.rank_schedule
                lines.append(f'{family} ranks per layer ({how}): {ranks}')
        return '\n'.join(lines)

    def memory_report(self, optimizers=(), idx=None):
        """The model's own bytes, summed over its tensors (not the process's RSS): parameters, frozen buffers,
        gradients, optimizer state, and, given a batch idx (B, T), the activations one training forward saves for
        backward, per token (every saved tensor that is not a parameter or buffer, each storage once)."""
        params = list({id(p): p for p in self.parameters()}.values())
        nbytes = lambda ts: sum(t.numel() * t.element_size() for t in ts)
        out = dict(param_bytes=nbytes(params), buffer_bytes=nbytes(self.buffers()),
                   grad_bytes=nbytes(p.grad for p in params if p.grad is not None),
                   optimizer_bytes=nbytes(t for opt in optimizers for st in opt.state.values()
                                          for t in st.values() if torch.is_tensor(t)))
        if idx is not None:
            own = {t.untyped_storage().data_ptr() for t in [*params, *self.buffers()]}
            saved = {}

            def pack(t):
                st = t.untyped_storage()
                if st.data_ptr() not in own:
                    saved[st.data_ptr()] = st.nbytes()
                return t
            with torch.random.fork_rng(devices=[idx.device] if idx.is_cuda else []), torch.enable_grad(), \
                    torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                self(idx, idx, reduction='none')  # saves what a training loss does; freed on return, dropout's draws undone
            out['activation_bytes_per_token'] = sum(saved.values()) / idx.numel()
        return out

    # -- optimizer ----------------------------------------------------------------------------------------

    def optim_groups(self, weight_decay):
        """AdamW groups with each parameter's learning-rate multiplier (a module's lr_mult, default 1) and weight
        decay: its share of W's decay (a module's decay; default matrices 1, vectors such as norms 0) divided by its
        lr multiplier, since AdamW shrinks by lr x weight_decay: every kind's W shrinks at dense's rate. Each parameter
        appears once."""
        mults = {}
        for m in self.modules():
            for name, p in m.named_parameters(recurse=False):
                lr_mult = getattr(m, 'lr_mult', {}).get(name, 1.0)
                share = getattr(m, 'decay', {}).get(name, 1.0 if p.dim() >= 2 else 0.0)
                mults[id(p)] = lr_mult, weight_decay * share / lr_mult
        groups = {}
        for p in {id(p): p for p in self.parameters() if p.requires_grad}.values():
            groups.setdefault(mults[id(p)], []).append(p)
        return [dict(params=ps, weight_decay=wd, lr_mult=lm) for (lm, wd), ps in groups.items()]


def step_repeats(accumulation, processes, compiled):
    """How many times one optimizer step pays flops_per_token()['step'], the per-step work of random bases: once per
    process in eager mode (ProjectAlpha projects once per optimizer step), once per micro-step under torch.compile
    (the traced graph projects in every call)."""
    return accumulation if compiled else processes


def iters_for_budget(flops, n_trainable_nonembedding, tokens_per_iter, repeats, target_flops=0.0,
                     flops_basis='C_train', tokens_per_param=0.0):
    """The number of optimizer steps that spends a budget: the fewest whose cumulative cost reaches it (so one step
    fewer falls short). target_flops counted on flops_basis, from flops_per_token(): C_train per token, or C_actual per
    token plus the per-step work `repeats` times a step (step_repeats); or tokens_per_param tokens per trainable
    non-embedding parameter."""
    if target_flops:
        per_iter = flops[flops_basis] * tokens_per_iter + (flops['step'] * repeats if flops_basis == 'C_actual'
                                                           else 0)
        return max(1, math.ceil(target_flops / per_iter))
    return max(1, math.ceil(tokens_per_param * n_trainable_nonembedding / tokens_per_iter))


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """logits (B, V) -> next ids (B, 1). temperature 0 is greedy."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k:
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits[logits < v[:, [-1]]] = -float('inf')
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop = cum - sorted_logits.softmax(dim=-1) > top_p  # keep the smallest prefix whose mass reaches top_p
        sorted_logits[drop] = -float('inf')
        logits = torch.full_like(logits, -float('inf')).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)


def trainable_nonembedding(**kw):
    """The trainable non-embedding count of a GPTConfig(**kw), built on the meta device (no weights allocated)."""
    with torch.device('meta'):
        return GPT(GPTConfig(**kw)).param_counts()['trainable_nonembedding']


def matched_dense(trainable, vary='n_layer', **kw):
    """The dense model of shape kw (GPTConfig keys) whose trainable non-embedding count is nearest `trainable`,
    varying depth (vary='n_layer') or width (vary='n_embd', in steps of 2 n_head so the heads stay even): the
    same-budget dense reference a deeper low-rank model is compared with (Gillis 2025). Returns {vary: value}."""
    if vary not in ('n_layer', 'n_embd'):
        raise ConfigError(f"vary='{vary}' must be 'n_layer' or 'n_embd'")
    dense = {**kw, 'linear': 'dense', 'attn_linear': '', 'mlp_linear': ''}
    step = 1 if vary == 'n_layer' else 2 * dense.get('n_head', GPTConfig.n_head)
    # the dense count is linear in depth and quadratic in width: three builds give it exactly (Lagrange), any value
    xs = (step, 2 * step, 3 * step)
    ys = [trainable_nonembedding(**{**dense, vary: x}) for x in xs]
    count = lambda v: sum(y * math.prod((v - xj) / (xi - xj) for xj in xs if xj != xi) for xi, y in zip(xs, ys))
    v = step
    while count(v + step) <= trainable:   # counts grow with depth and width: walk up to the bracket
        v += step
    return {vary: min((v, v + step), key=lambda x: abs(count(x) - trainable))}


PEAK_BF16_FLOPS = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12, 'L4': 121e12, 'A10': 125e12, '4090': 165e12}


def peak_flops(device_name):
    """Dense bf16 peak FLOP/s of a GPU from its name (torch.cuda.get_device_name), for MFU; None if unknown."""
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in device_name), None)


def config_from_dict(d):
    """A GPTConfig from a plain dict (checkpoint metadata), ignoring keys that are not model keys."""
    names = {f.name for f in fields(GPTConfig)}
    return GPTConfig(**{k: v for k, v in d.items() if k in names})


# The tables of variants use train.py's default model: GPTConfig's shape, context 128, and the vocabulary of its
# default data (data/pystdlib_char: 218 characters on the Python 3 these tables were measured with).
TABLE_BASE = dict(vocab_size=218, block_size=128)

# One row per way of saving parameters: `python model.py --compare` counts them, `python bench.py --variants` times
# them (every basis row twice: directions regenerated, and cached).
VARIANT_TABLE = [
    ('dense', {}),
    ('lowrank r=0.25', dict(linear='lowrank', attn_rank=0.25, mlp_rank=0.25)),
    ('lora r=8', dict(linear='lora', attn_rank=8, mlp_rank=8)),
    ('basis d=5/layer', dict(linear='basis', basis_dim=5)),
    ('basis d=8/layer', dict(linear='basis', basis_dim=8)),
    ('basis d=512/layer', dict(linear='basis', basis_dim=512)),
    ('basis d=8/layer fastfood', dict(linear='basis', basis_dim=8, basis_projection='fastfood')),
    ('intrinsic d=5', dict(linear='intrinsic', intrinsic_dim=5)),
    ('intrinsic d=1000', dict(linear='intrinsic', intrinsic_dim=1000)),
    ('intrinsic d=1000 dense', dict(linear='intrinsic', intrinsic_dim=1000, intrinsic_projection='dense')),
    ('fastfood', dict(linear='fastfood')),
    ('blockdiag b=4', dict(linear='blockdiag', blocks=4)),
    ('doped TFTFT', dict(n_layer=5, doped=True)),
    ('shared all', dict(share='all')),
    ('factorized embd E=32', dict(embd_dim=32)),
    ('frozen (embeddings only)', dict(linear='frozen')),
]


def compare(**overrides):
    """A Markdown table: each variant of TABLE_BASE's model (plus overrides), its parameters, checkpoint bytes and
    FLOPs/token."""
    base = {**TABLE_BASE, **overrides}
    rows = ['| variant | trainable non-emb | trainable emb | frozen | emulated | checkpoint bytes | C_train/token '
            '| C_actual/token | per step |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for name, kw in VARIANT_TABLE:
        model = GPT(GPTConfig(**{**base, **kw}))
        c, f = model.param_counts(), model.flops_per_token()
        rows.append(f"| {name} | {c['trainable_nonembedding']:,} | {c['trainable_embedding']:,} | {c['frozen']:,} | "
                    f"{c['emulated_nonembedding']:,} | {c['checkpoint_bytes']:,} | {f['C_train']:,} | "
                    f"{f['C_actual']:,} | {f['step']:,} |")
    return '\n'.join(rows)


if __name__ == '__main__':
    # python model.py [--key=value ...]            the parameter and FLOP report of a model config
    # python model.py --compare [--key=value ...]  one row per variant of that model (train.py's default shape)
    import sys
    from cli import exit_on_user_error
    from configurator import configure, types_of
    exit_on_user_error()  # bad input: one line, exit 2, no traceback
    defaults = asdict(GPTConfig())
    config = configure(defaults, [a for a in sys.argv[1:] if a != '--compare'], types_of(GPTConfig))
    kw = {k: v for k, v in config.items() if v != defaults[k]}  # what the command line changed
    if '--compare' in sys.argv[1:]:
        print(compare(**kw))
    else:
        model = GPT(GPTConfig(**kw))
        print('\n'.join(filter(None, [model.rank_report(), model.param_report()])))
