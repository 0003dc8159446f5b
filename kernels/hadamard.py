"""
Walsh-Hadamard transforms: the H in Fastfood (S·H·G·Π·H·B·x) and the block mixing of the block-diagonal layer.

    y = hadamard_transform(x)                  # x[..., n] -> y[..., n]:  y = x @ H_n * scale, n a power of two
    y = block_hadamard_transform(x, nblocks)   # x[..., n] -> y[..., n]:  y = (H_b ⊗ I_{n/b}) x * scale, b = nblocks
    x = pad_to_pow2(x)                         # zero-pads the last dim up to the next power of two

H_n is the Sylvester Hadamard matrix: H_1 = [1], H_2n = [[H_n, H_n], [H_n, -H_n]], i.e. H[i, j] = (-1)^popcount(i & j)
(the same matrix as scipy.linalg.hadamard). It is symmetric with H_n @ H_n = n·I, so with the default scale 1/sqrt(n)
the transform is orthonormal and its own inverse, and its backward is the same transform of the gradient.

Backends, all behind one torch.library custom op `nanoreparam::hadamard` (fake impl + autograd registered, so
torch.compile(fullgraph=True) traces through it without graph breaks):
  'triton'  fused kernel, one HBM read and one write for n <= MAX_TRITON_N = 32768: a program loads ROWS whole rows,
            upcasts to fp32, runs every radix-2 stage in registers, multiplies by scale at the store. Longer rows
            (a single vector of n up to 2^29, e.g. the random-basis projections) go multi-pass, each pass one HBM
            read and one write: H_n = (H_R ⊗ I_m)(I_R ⊗ H_m), m = MAX_TRITON_N, so pass 1 is the same row kernel on
            the (rows·n/m, m) view and H_R ⊗ I_m is one or more passes of a strided kernel applying H_r (r <= 256)
            along the middle axis of a contiguous (A, r, C) view: 2 passes up to n = 2^23, 3 beyond (up to 2^31). 16-bit
            inputs keep their intermediates in an fp32 buffer, so the result is still rounded once. backend=None
            picks 'triton' for CUDA tensors when triton imports, dtype is fp32/fp16/bf16 and n is a power of two.
            On a CPU tensor it runs only when asked for (backend='triton') with TRITON_INTERPRET=1 set: Triton's
            interpreter, for tests.
  'torch'   pure-torch fallback, picked everywhere else: H_n = H_k1 ⊗ H_k2 ⊗ ... (every k <= 32), one small matmul
            per factor, accumulated in fp32 (fp64 for fp64 input); on CPU done chunk by chunk so the intermediates
            stay in cache. Measured fastest on CPU (bench.py --kernels).
  'dense'   x @ H_n with the full Sylvester matrix, in float64: the reference for tests (n² memory; small n only).
"""

from __future__ import annotations   # the kernels' `tl.constexpr` annotations stay strings until triton reads them

import functools
import math
import os

import torch

# triton is optional, and imported on first need (a CUDA tensor, or backend='triton'): a CPU process never pays for
# it. Without it everything runs on the torch fallback.
tl = None


@functools.cache
def _load_triton():
    """The triton module (None if it is not installed), imported once; binds `tl` for the kernels' bodies."""
    global tl
    try:
        import triton
        import triton.language
    except ImportError:
        return None
    tl = triton.language
    return triton


MAX_TRITON_N = 32768     # one row per program: 32768 fp32 values is what fits in registers + shared memory
MAX_STRIDED_R = 256      # longer rows: each later pass applies H_r, r <= 256, to (r, TILE/r) tiles (>= 64 columns:
STRIDED_TILE = 16384     # 256-byte runs of fp32, coalesced); 16k elements per program, like one 16384-wide row
CPU_CHUNK = 1 << 20      # elements per chunk in the CPU fallback (4 MB of fp32: the intermediates stay in L2/L3)
MAX_FACTOR_LOG2 = 5      # Kronecker factors of at most 32×32 (measured: bigger factors cost more flops than they save)
BACKENDS = ('triton', 'torch', 'dense')

# -----------------------------------------------------------------------------
# small helpers

def is_pow2(n):
    return n >= 1 and (n & (n - 1)) == 0

def next_pow2(n):
    return 1 if n <= 1 else 1 << (n - 1).bit_length()

def pad_to_pow2(x):
    """Zero-pad the last dim of x up to the next power of two; returns x itself when it already is one.
    Use it before hadamard_transform for widths like 768 (-> 1024). Note that pad -> transform -> slice back is a
    projection, not an orthogonal map: keep the padded width through the layer and slice only at its output."""
    n = x.shape[-1]
    return x if next_pow2(n) == n else torch.nn.functional.pad(x, (0, next_pow2(n) - n))

_H_CACHE = {}  # (n, dtype, device) -> small ±1 Sylvester matrix; the fallback only ever needs n <= 32

def sylvester(n, dtype=torch.float32, device='cpu', cache=True):
    """The n×n Sylvester Hadamard matrix (entries ±1, unnormalised), built by doubling directly in dtype on device
    (±1 is exact in every float dtype). Cached per (n, dtype, device) unless cache=False (use that for big n)."""
    key = (n, dtype, torch.device(device))
    if cache and key in _H_CACHE:
        return _H_CACHE[key]
    H = torch.ones(1, 1, dtype=dtype, device=device)
    while H.shape[0] < n:
        H = torch.cat([torch.cat([H, H], 1), torch.cat([H, -H], 1)], 0)
    if cache:
        _H_CACHE[key] = H
    return H

def _factors(b):
    """Split H_b into H_k1 ⊗ H_k2 ⊗ ... ⊗ H_km: the fewest factors of size <= 32, as equal as possible, larger ones
    innermost (the innermost factor is a plain (rows·b/k, k) @ (k, k) GEMM, which dislikes tiny k). The cost is
    2·(k1 + ... + km) flops per element, one cache-resident pass per factor."""
    L = b.bit_length() - 1                                          # b = 2^L
    m = max(1, -(-L // MAX_FACTOR_LOG2))                            # ceil(L / 5) factors
    bits = [L // m + (i >= m - L % m) for i in range(m)]            # ascending, sums to L
    return [1 << e for e in bits]

# -----------------------------------------------------------------------------
# backend 'torch': Kronecker matmuls

def _hadamard_torch(x2, scale, inner):
    # x2: (rows, n) with stride(-1) == 1. Applies (H_b ⊗ I_inner) * scale to every row, b = n // inner.
    # View a row as (k1, ..., km, inner): factor i is a matmul over axis i; H is symmetric, so no transposes needed.
    rows, n = x2.shape
    ks = _factors(n // inner)
    acc = torch.float64 if x2.dtype == torch.float64 else torch.float32   # fp32 accumulation for 16-bit inputs
    plan = []                                                       # (H_k, k, inner size of that axis), innermost first
    stride = inner
    for k in reversed(ks):
        plan.append((sylvester(k, acc, x2.device), k, stride))
        stride *= k
    H0, k0, i0 = plan[0]
    plan[0] = (H0 * scale, k0, i0)                                  # fold the scale into one tiny factor: no extra pass
    y = torch.empty(rows, n, dtype=x2.dtype, device=x2.device)
    # On CPU, go through the rows in chunks so each factor's output is still in cache for the next factor and only x
    # and y touch DRAM. On GPU a Python loop of small launches would be slower than two HBM round trips: one chunk.
    chunk = rows if x2.device.type != 'cpu' else max(1, CPU_CHUNK // n)
    chunk = min(chunk, rows)
    bufs = [torch.empty(chunk * n, dtype=acc, device=x2.device) for _ in range(2)]   # ping-pong workspace
    for r0 in range(0, rows, chunk):
        xc, yc = x2[r0:r0 + chunk], y[r0:r0 + chunk]                # (c, n)
        c = xc.shape[0]
        tmp = [buf[:c * n].view(c, n) for buf in bufs]
        src = xc if xc.dtype == acc else tmp[1].copy_(xc)           # upcast once, into cache
        for j, (H, k, stride) in enumerate(plan):
            last = j == len(plan) - 1
            dst = yc if (last and y.dtype == acc) else (tmp[0] if src is not tmp[0] else tmp[1])
            if stride == 1:   # innermost axis: (c·n/k, k) @ (k, k)
                torch.mm(src.reshape(-1, k), H, out=dst.view(-1, k))
            else:             # middle axis: (k, k) @ (c·n/(k·stride), k, stride), H broadcast over the batch
                torch.matmul(H, src.reshape(-1, k, stride), out=dst.view(-1, k, stride))
            src = dst
        if src is not yc:
            yc.copy_(src)                                           # round to the output dtype once, at the end
    return y

# -----------------------------------------------------------------------------
# backend 'dense': the full matrix, float64 (reference)

def _hadamard_dense(x2, scale, inner):
    rows, n = x2.shape
    b = n // inner
    H = sylvester(b, torch.float64, x2.device, cache=False)         # (b, b)
    y = torch.matmul(H, x2.double().reshape(rows, b, inner)) * scale   # (rows, b, inner)
    return y.reshape(rows, n).to(x2.dtype)

# -----------------------------------------------------------------------------
# backend 'triton': fused kernel

def _fwht_kernel(x_ptr, y_ptr, rows, stride_row, scale,
                 N: tl.constexpr, LOG_N: tl.constexpr, LOG_INNER: tl.constexpr, ROWS: tl.constexpr):
    # One program = ROWS consecutive rows of length N, held in registers as fp32 for the whole transform.
    pid = tl.program_id(0)
    r = pid * ROWS + tl.arange(0, ROWS)                         # (ROWS,) row indices
    c = tl.arange(0, N)                                         # (N,) column indices
    mask = (r < rows)[:, None]                                  # tail program: rows past the end are masked
    r64 = r.to(tl.int64)[:, None]                               # int64: rows·stride can exceed 2^31
    x = tl.load(x_ptr + r64 * stride_row + c[None, :], mask=mask, other=0.0).to(tl.float32)   # (ROWS, N)
    # Radix-2 stage s pairs columns i and i + 2^s (bit s of i clear): view the row as (N/2^(s+1), 2, 2^s), move the
    # pair axis last, split it, join (a + b, a - b) back and undo the view. The stages act on different index bits,
    # so they commute and their order does not matter. Stages below LOG_INNER are skipped: that leaves the
    # inner 2^LOG_INNER columns unmixed, i.e. H_(N/inner) ⊗ I_inner (block_hadamard_transform).
    for s in tl.static_range(LOG_INNER, LOG_N):
        x = tl.reshape(x, (ROWS, N >> (s + 1), 2, 1 << s))
        a, b = tl.split(tl.permute(x, (0, 1, 3, 2)))            # (ROWS, N/2^(s+1), 2^s) each
        x = tl.permute(tl.join(a + b, a - b), (0, 1, 3, 2))
        x = tl.reshape(x, (ROWS, N))
    tl.store(y_ptr + r64 * N + c[None, :], (x * scale).to(y_ptr.dtype.element_ty), mask=mask)

def _fwht_strided_kernel(x_ptr, y_ptr, C, scale, R: tl.constexpr, LOG_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # H_R along the middle axis of a contiguous (A, R, C) view, C a multiple of BLOCK_C. One program = the tile
    # x[a, :, c0:c0 + BLOCK_C], (R, BLOCK_C): each of its R rows is a contiguous run of BLOCK_C (coalesced).
    pid = tl.program_id(0).to(tl.int64)                         # int64: A·R·C can exceed 2^31
    a, c0 = pid // (C // BLOCK_C), (pid % (C // BLOCK_C)) * BLOCK_C
    i = tl.arange(0, R)                                         # (R,) index along the transformed axis
    c = tl.arange(0, BLOCK_C)                                   # (BLOCK_C,) neighbouring columns
    offs = a * R * C + c0 + i[:, None] * C + c[None, :]         # (R, BLOCK_C)
    x = tl.load(x_ptr + offs).to(tl.float32)
    # Radix-2 stages as in _fwht_kernel, on axis 0: stage s pairs rows i and i + 2^s via the view
    # (R/2^(s+1), 2, 2^s, BLOCK_C), pair axis moved last, split, (lo + hi, lo - hi) joined, view undone.
    for s in tl.static_range(LOG_R):
        x = tl.reshape(x, (R >> (s + 1), 2, 1 << s, BLOCK_C))
        lo, hi = tl.split(tl.permute(x, (0, 2, 3, 1)))          # (R/2^(s+1), 2^s, BLOCK_C) each
        x = tl.reshape(tl.permute(tl.join(lo + hi, lo - hi), (0, 3, 1, 2)), (R, BLOCK_C))
    tl.store(y_ptr + offs, (x * scale).to(y_ptr.dtype.element_ty))

_JITTED = {}

def _jit(fn):
    # triton.jit chooses between the GPU compiler and the CPU interpreter when it decorates, reading TRITON_INTERPRET
    # then. Decorating at first launch instead of at import means the variable only has to be set before the first
    # Triton call, whichever module imported this one (and triton) first. That holds because these kernels call
    # builtins only: triton's own @jit helpers (tl.sum, tl.zeros, ...) were decorated at `import triton`.
    key = (fn.__name__, os.environ.get('TRITON_INTERPRET', '0') == '1')
    if key not in _JITTED:
        _JITTED[key] = _load_triton().jit(fn)
    return _JITTED[key]

def _fwht_rows(x2, y, scale, log_inner):
    # x2: (rows, n), n <= MAX_TRITON_N, stride(-1) == 1 -> y (rows, n) contiguous, one launch.
    rows, n = x2.shape
    # Several rows per program for small n (so a program has >= 4096 elements of work), one row for n >= 4096.
    # About 16 fp32 values per thread at n = 4096 and 64 at 32768 (Dao's kernel uses 256 threads for 32768).
    block_rows = min(max(1, 4096 // n), next_pow2(rows))
    num_warps = min(16, max(1, block_rows * n // 512))
    grid = (-(-rows // block_rows),)
    _jit(_fwht_kernel)[grid](x2, y, rows, x2.stride(0), scale,
                             N=n, LOG_N=n.bit_length() - 1, LOG_INNER=log_inner, ROWS=block_rows,
                             num_warps=num_warps)

def _fwht_strided(src, dst, C, r, scale):
    # src, dst: contiguous, viewed as (A, r, C) -> dst = H_r along axis 1 (in place when src is dst), one launch.
    block_c = min(C, max(1, STRIDED_TILE // r))
    grid = (src.numel() // (r * block_c),)
    _jit(_fwht_strided_kernel)[grid](src, dst, C, scale, R=r, LOG_R=r.bit_length() - 1, BLOCK_C=block_c,
                                     num_warps=min(16, max(1, r * block_c // 512)))

def _hadamard_triton(x2, scale, inner):
    rows, n = x2.shape
    y = torch.empty(rows, n, dtype=x2.dtype, device=x2.device)
    L, lo = n.bit_length() - 1, inner.bit_length() - 1             # stages lo .. L-1 of the n = 2^L column bits
    m = MAX_TRITON_N
    if n <= m:
        _fwht_rows(x2, y, scale, lo)
        return y
    # Multi-pass, n > m: H_n = (H_R ⊗ I_m)(I_R ⊗ H_m), R = n/m, and H_R ⊗ I_m splits further the same way, so every
    # pass applies the stages of one range of column bits. Pass 1 is the row kernel on the (rows·n/m, m) view (bits
    # < log2 m), each later pass the strided kernel on bits [lo, hi): H_r on the (rows·n/(r·C), r, C) view, C = 2^lo.
    if rows > 1 and x2.stride(0) != n:
        x2 = x2.contiguous()                                        # the views below need whole rows back to back
    if lo == L:                                                     # nblocks = 1: no stage at all, just the scale
        return y.copy_(x2 * scale)
    buf = y if y.dtype == torch.float32 else torch.empty(rows, n, dtype=torch.float32, device=x2.device)
    src = x2                                                        # 16-bit: fp32 in between, one rounding at the end
    log_m = m.bit_length() - 1
    if lo < log_m:
        _fwht_rows(x2.view(-1, m), buf.view(-1, m), 1.0, lo)
        src, lo = buf, log_m
    # the remaining bits in the fewest passes of at most log2(MAX_STRIDED_R) bits, as equal as possible
    npass = -(-(L - lo) // (MAX_STRIDED_R.bit_length() - 1))
    for p in range(npass):
        hi = lo + (L - lo) // (npass - p)
        last = p == npass - 1
        _fwht_strided(src, y if last else buf, 1 << lo, 1 << (hi - lo), scale if last else 1.0)
        src, lo = buf, hi                                           # in place from here: each tile is read, then written
    return y

# -----------------------------------------------------------------------------
# the custom op: one entry point for all backends, opaque to torch.compile

@torch.library.custom_op("nanoreparam::hadamard", mutates_args=())
def hadamard_op(x: torch.Tensor, scale: float, inner: int, backend: str) -> torch.Tensor:
    """(H_{n/inner} ⊗ I_inner) applied to the last dim of x, times scale; returns a new contiguous tensor.
    Arguments are already validated by hadamard_transform / block_hadamard_transform: call those."""
    n = x.shape[-1]
    x2 = x.reshape(-1, n)                                           # (rows, n), a view whenever the strides allow
    if x2.stride(-1) != 1:
        x2 = x2.contiguous()
    if x2.shape[0] == 0:
        return x.new_empty(x.shape)
    fn = {'triton': _hadamard_triton, 'torch': _hadamard_torch, 'dense': _hadamard_dense}[backend]
    return fn(x2, scale, inner).view(x.shape)

@hadamard_op.register_fake
def _hadamard_fake(x, scale, inner, backend):
    return x.new_empty(x.shape)                                     # contiguous, like the real output

def _hadamard_setup_context(ctx, inputs, output):
    _, ctx.scale, ctx.inner, ctx.backend = inputs

def _hadamard_backward(ctx, grad):
    # (H ⊗ I) is symmetric, so the vector-Jacobian product is the same transform with the same scale.
    return hadamard_op(grad, ctx.scale, ctx.inner, ctx.backend), None, None, None

hadamard_op.register_autograd(_hadamard_backward, setup_context=_hadamard_setup_context)

# -----------------------------------------------------------------------------
# public API

def _resolve_backend(fname, x, n, backend, max_triton_n=None):
    # max_triton_n: a limit for Triton kernels that have one (fused Fastfood); the Hadamard kernels take any n
    triton_ok = (is_pow2(n) and (max_triton_n is None or n <= max_triton_n)
                 and x.dtype in (torch.float32, torch.float16, torch.bfloat16))
    if backend is None or backend == 'auto':
        # CPU tensors always get the fallback, even when TRITON_INTERPRET=1 is set: the interpreter is for tests only.
        return 'triton' if (triton_ok and x.is_cuda and _load_triton() is not None) else 'torch'
    if backend not in BACKENDS:
        raise ValueError(f"{fname}: backend={backend!r}; use one of {BACKENDS} or None (auto)")
    if backend == 'triton':
        if _load_triton() is None:
            raise RuntimeError(f"{fname}: backend='triton' needs triton (pip install -r requirements-triton.txt)")
        if not triton_ok:
            limit = '' if max_triton_n is None else f' <= {max_triton_n}'
            raise ValueError(f"{fname}: backend='triton' takes fp32/fp16/bf16 and power-of-two n{limit}; "
                             f"got n={n}, dtype={x.dtype}")
        if not x.is_cuda and os.environ.get('TRITON_INTERPRET', '0') != '1':
            raise RuntimeError(f"{fname}: backend='triton' on a {x.device.type} tensor needs TRITON_INTERPRET=1 "
                               "(Triton's CPU interpreter, for tests); use backend=None to get the torch fallback")
    return backend

def _check_input(fname, x):
    if x.dim() == 0:
        raise ValueError(f"{fname}: x must have at least one dim (the transformed last dim); got a 0-d tensor")
    if not x.is_floating_point():
        raise TypeError(f"{fname}: x.dtype={x.dtype}; use float32, float16 or bfloat16 (or float64)")

def hadamard_transform(x, scale=None, backend=None):
    """y = x @ H_n * scale over the last dim, n = x.shape[-1] a power of two; any leading shape, any strides.
    scale=None means 1/sqrt(n): orthonormal and self-inverse, hadamard_transform(hadamard_transform(x)) == x.
    fp32/fp16/bf16 in, same dtype out, fp32 accumulation (fp64 stays fp64). Differentiable; compiles fullgraph.
    backend: None/'auto' (triton on CUDA, else torch), or force 'triton', 'torch' or 'dense' (see module docstring)."""
    _check_input('hadamard_transform', x)
    n = x.shape[-1]
    if not is_pow2(n):
        raise ValueError(f"hadamard_transform: last dim n={n} is not a power of two; zero-pad it first with "
                         f"kernels.hadamard.pad_to_pow2(x) (-> n={next_pow2(n)})")
    scale = 1.0 / math.sqrt(n) if scale is None else float(scale)
    return hadamard_op(x, scale, 1, _resolve_backend('hadamard_transform', x, n, backend))

def block_hadamard_transform(x, nblocks, scale=None, backend=None):
    """Mix ACROSS blocks: view x[..., n] as (..., nblocks, n // nblocks) and apply H_nblocks over the block-index axis,
        y[..., i, :] = scale · Σ_j H_nblocks[i, j] · x[..., j, :],   i.e. y = (H_b ⊗ I_{n/b}) x with b = nblocks.
    Element t of block i only meets element t of the other blocks; nothing is mixed inside a block. This is the mixing
    of the block-diagonal layer y = (H_b ⊗ I)·BlockDiag(W_1..W_b)·x, whose blocks are contiguous slices of size n/b.
    nblocks must be a power of two dividing n (n itself need not be one on the torch backend); scale=None means
    1/sqrt(nblocks) (orthonormal, self-inverse). nblocks=1 is the identity (a copy); nblocks=n is hadamard_transform."""
    _check_input('block_hadamard_transform', x)
    n = x.shape[-1]
    if not (isinstance(nblocks, int) and is_pow2(nblocks) and n % nblocks == 0):
        raise ValueError(f"block_hadamard_transform: nblocks={nblocks} must be a power of two dividing the last dim "
                         f"n={n}")
    scale = 1.0 / math.sqrt(nblocks) if scale is None else float(scale)
    backend = _resolve_backend('block_hadamard_transform', x, n, backend)
    return hadamard_op(x, scale, n // nblocks, backend)

# -----------------------------------------------------------------------------
# Fastfood, y_j = scale · s_j ⊙ H(g_j ⊙ Π_j(H(b_j ⊙ x))) for k n×n blocks: model.FastfoodLinear's one op

MAX_FASTFOOD_TRITON_N = 4096   # the backward keeps ~12 row-sized fp32 arrays live: ptxas (sm_90) spills 88 B/thread
                               # at 4096 and 716 B at 8192, so larger n take the composite path (Triton FWHTs)

# Π moves values across threads and warps of the whole row. tl.gather would do that in registers, but in Triton 3.8
# its lowering emits code per element (a 4096-wide row did not finish compiling for sm_90 in minutes), so Π goes
# through a small per-program scratch in global memory instead: store the rows, barrier, load them back at the
# permuted offsets, barrier. Each program reuses its own slot for every row block it takes (persistent loop), so the
# slot stays in L2 and the HBM traffic is still one read of x and one write of y.

def _fastfood_fwd_kernel(x_ptr, b_ptr, g_ptr, s_ptr, perm_ptr, y_ptr, scratch_ptr, rows, stride_row, stride_y, scale,
                         nblocks, N: tl.constexpr, LOG_N: tl.constexpr, ROWS: tl.constexpr):
    # y = scale · s ⊙ H(g ⊙ Π(H(b ⊙ x))) for blocks of ROWS rows, all in fp32 registers.
    pid = tl.program_id(0)
    nprog = tl.num_programs(0)
    c = tl.arange(0, N)                                         # (N,)
    b = tl.load(b_ptr + c).to(tl.float32)[None, :]              # (1, N)
    g = tl.load(g_ptr + c).to(tl.float32)[None, :]
    s = tl.load(s_ptr + c).to(tl.float32)[None, :] * scale
    perm = tl.load(perm_ptr + c)[None, :]
    slot = scratch_ptr + pid * (ROWS * N) + tl.arange(0, ROWS)[:, None] * N    # (ROWS, 1) this program's rows
    for blk in range(pid, nblocks, nprog):
        r = blk * ROWS + tl.arange(0, ROWS)                     # (ROWS,)
        mask = (r < rows)[:, None]
        r64 = r.to(tl.int64)[:, None]
        v = tl.load(x_ptr + r64 * stride_row + c[None, :], mask=mask, other=0.0).to(tl.float32) * b   # (ROWS, N)
        for t in tl.static_range(2):                            # the two H's, with Π and G between them
            if t == 1:                                          # v[:, i] <- v[:, perm[i]] * g[i]
                tl.store(slot + c[None, :], v)
                tl.debug_barrier()
                v = tl.load(slot + perm, cache_modifier='.cg') * g
                tl.debug_barrier()                              # all reads done before the slot is reused
            for st in tl.static_range(LOG_N):                   # radix-2 stages, as in _fwht_kernel
                v = tl.reshape(v, (ROWS, N >> (st + 1), 2, 1 << st))
                lo, hi = tl.split(tl.permute(v, (0, 1, 3, 2)))
                v = tl.reshape(tl.permute(tl.join(lo + hi, lo - hi), (0, 1, 3, 2)), (ROWS, N))
        tl.store(y_ptr + r64 * stride_y + c[None, :], (v * s).to(y_ptr.dtype.element_ty), mask=mask)

def _fastfood_bwd_kernel(dy_ptr, x_ptr, b_ptr, g_ptr, s_ptr, perm_ptr, iperm_ptr, dx_ptr, part_ptr, scratch_ptr,
                         rows, stride_dy, stride_x, scale, nblocks,
                         N: tl.constexpr, LOG_N: tl.constexpr, ROWS: tl.constexpr):
    # With w = Π(H(b ⊙ x)) and v2 = H(g ⊙ w) recomputed from x (cheaper than storing them):
    #   ds = scale Σ dy ⊙ v2;  du2 = H(scale · s ⊙ dy);  dg = Σ du2 ⊙ w;  du1 = H(Πᵀ(g ⊙ du2));  db = Σ du1 ⊙ x;
    #   dx = b ⊙ du1.   (H is symmetric; Πᵀ is the gather by the inverse permutation.)
    # Each program accumulates (ROWS, N) fp32 partial sums per parameter and writes them once; the caller adds them
    # up, so the reduction order is fixed (deterministic, no atomics). No tl.sum here: triton's standard library
    # (tl.sum, tl.zeros, ...) is itself @jit-decorated when triton is imported, so it would not follow a
    # TRITON_INTERPRET set later (see _jit); the kernels in this file use builtins only.
    pid = tl.program_id(0)
    nprog = tl.num_programs(0)
    c = tl.arange(0, N)
    b = tl.load(b_ptr + c).to(tl.float32)[None, :]              # (1, N)
    g = tl.load(g_ptr + c).to(tl.float32)[None, :]
    s = tl.load(s_ptr + c).to(tl.float32)[None, :] * scale
    perm = tl.load(perm_ptr + c)[None, :]
    iperm = tl.load(iperm_ptr + c)[None, :]
    slot = scratch_ptr + pid * (ROWS * N) + tl.arange(0, ROWS)[:, None] * N
    acc_b = tl.full((ROWS, N), 0.0, tl.float32)
    acc_g = tl.full((ROWS, N), 0.0, tl.float32)
    acc_s = tl.full((ROWS, N), 0.0, tl.float32)
    for blk in range(pid, nblocks, nprog):
        r = blk * ROWS + tl.arange(0, ROWS)
        mask = (r < rows)[:, None]                              # masked rows load as 0 and add 0 to the sums
        r64 = r.to(tl.int64)[:, None]
        x = tl.load(x_ptr + r64 * stride_x + c[None, :], mask=mask, other=0.0).to(tl.float32)     # (ROWS, N)
        dy = tl.load(dy_ptr + r64 * stride_dy + c[None, :], mask=mask, other=0.0).to(tl.float32)
        v = x * b
        for t in tl.static_range(4):                            # four H's: two to recompute, two for the grads
            if t == 1:                                          # w = Π(H(b ⊙ x))
                tl.store(slot + c[None, :], v)
                tl.debug_barrier()
                w = tl.load(slot + perm, cache_modifier='.cg')
                tl.debug_barrier()
                v = w * g
            if t == 2:                                          # v = v2, the pre-S activation
                acc_s += dy * v
                v = dy * s
            if t == 3:                                          # v = du2
                acc_g += v * w
                tl.store(slot + c[None, :], v * g)
                tl.debug_barrier()
                v = tl.load(slot + iperm, cache_modifier='.cg')
                tl.debug_barrier()
            for st in tl.static_range(LOG_N):
                v = tl.reshape(v, (ROWS, N >> (st + 1), 2, 1 << st))
                lo, hi = tl.split(tl.permute(v, (0, 1, 3, 2)))
                v = tl.reshape(tl.permute(tl.join(lo + hi, lo - hi), (0, 1, 3, 2)), (ROWS, N))
        acc_b += v * x                                          # v = du1
        tl.store(dx_ptr + r64 * N + c[None, :], (v * b).to(dx_ptr.dtype.element_ty), mask=mask)
    part = part_ptr + (pid * ROWS + tl.arange(0, ROWS)[:, None]) * N + c[None, :]   # part[k, pid]: (ROWS, N)
    tl.store(part, acc_b)
    tl.store(part + nprog * ROWS * N, acc_g)
    tl.store(part + 2 * nprog * ROWS * N, acc_s * scale)

def _fastfood_launch_shape(x, n, rows):
    # (rows per program, row blocks, programs, warps): persistent programs, 4 per SM on a GPU (4 in the interpreter)
    block_rows = min(max(1, 4096 // n), next_pow2(rows))
    nblocks = -(-rows // block_rows)
    cap = 4 * torch.cuda.get_device_properties(x.device).multi_processor_count if x.is_cuda else 4
    return block_rows, nblocks, max(1, min(nblocks, cap)), min(16, max(1, block_rows * n // 512))

@torch.library.custom_op("nanoreparam::fastfood", mutates_args=())
def fastfood_op(x: torch.Tensor, b: torch.Tensor, perm: torch.Tensor, g: torch.Tensor, s: torch.Tensor,
                scale: float) -> torch.Tensor:
    """Fused Triton Fastfood forward: x (..., n), b, perm, g, s (k, n) -> y (..., k, n), one launch per block
    (validated by fastfood_transform: call that)."""
    n, k = x.shape[-1], b.shape[0]
    x2 = x.reshape(-1, n)
    if x2.stride(-1) != 1:
        x2 = x2.contiguous()
    rows = x2.shape[0]
    y = torch.empty(rows, k, n, dtype=x.dtype, device=x.device)
    if rows > 0:
        block_rows, nblocks, programs, num_warps = _fastfood_launch_shape(x, n, rows)
        scratch = torch.empty(programs, block_rows, n, dtype=torch.float32, device=x.device)
        b, g, s, perm = b.contiguous(), g.contiguous(), s.contiguous(), perm.to(torch.int32).contiguous()
        for j in range(k):                                          # block j writes y[:, j], row stride k*n
            _jit(_fastfood_fwd_kernel)[(programs,)](
                x2, b[j], g[j], s[j], perm[j], y[:, j], scratch, rows, x2.stride(0), k * n, scale, nblocks,
                N=n, LOG_N=n.bit_length() - 1, ROWS=block_rows, num_warps=num_warps)
    return y.view(*x.shape[:-1], k, n)

@fastfood_op.register_fake
def _fastfood_fake(x, b, perm, g, s, scale):
    return x.new_empty(*x.shape[:-1], *b.shape)

@torch.library.custom_op("nanoreparam::fastfood_backward", mutates_args=())
def fastfood_backward_op(dy: torch.Tensor, x: torch.Tensor, b: torch.Tensor, perm: torch.Tensor, g: torch.Tensor,
                         s: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients (dx, db, dg, ds) of the fused Fastfood forward, one fused Triton kernel per block; dy (..., k, n)."""
    n, k = x.shape[-1], b.shape[0]
    x2, dy3 = x.reshape(-1, n), dy.reshape(-1, k, n)
    x2 = x2 if x2.stride(-1) == 1 else x2.contiguous()
    dy3 = dy3 if dy3.stride(-1) == 1 else dy3.contiguous()
    rows = x2.shape[0]
    block_rows, nblocks, programs, num_warps = _fastfood_launch_shape(x, n, max(rows, 1))
    part = torch.zeros(k, 3, programs, block_rows, n, dtype=torch.float32, device=x.device)   # partial db, dg, ds
    scratch = torch.empty(programs, block_rows, n, dtype=torch.float32, device=x.device)
    dxs = torch.empty(k, rows, n, dtype=x.dtype if k == 1 else torch.float32, device=x.device)  # summed over blocks
    iperm = torch.empty_like(perm).scatter_(1, perm, torch.arange(n, device=perm.device, dtype=perm.dtype).expand(k, n))
    b, g, s = b.contiguous(), g.contiguous(), s.contiguous()
    perm, iperm = perm.to(torch.int32).contiguous(), iperm.to(torch.int32).contiguous()   # Πᵀ as a gather
    if rows > 0:
        for j in range(k):
            dy2 = dy3[:, j]                                         # (rows, n), row stride k*n
            _jit(_fastfood_bwd_kernel)[(programs,)](
                dy2, x2, b[j], g[j], s[j], perm[j], iperm[j], dxs[j], part[j], scratch,
                rows, dy2.stride(0), x2.stride(0), scale, nblocks,
                N=n, LOG_N=n.bit_length() - 1, ROWS=block_rows, num_warps=num_warps)
    dx = dxs[0] if k == 1 else dxs.sum(0).to(x.dtype)
    db, dg, ds = (part[:, i].sum((1, 2)).to(p.dtype) for i, p in enumerate((b, g, s)))   # (k, n) each, fixed order
    return dx.view(x.shape), db, dg, ds

@fastfood_backward_op.register_fake
def _fastfood_backward_fake(dy, x, b, perm, g, s, scale):
    return x.new_empty(x.shape), b.new_empty(b.shape), g.new_empty(g.shape), s.new_empty(s.shape)

def _fastfood_setup_context(ctx, inputs, output):
    x, b, perm, g, s, ctx.scale = inputs
    ctx.save_for_backward(x, b, perm, g, s)

def _fastfood_backward(ctx, dy):
    x, b, perm, g, s = ctx.saved_tensors
    dx, db, dg, ds = fastfood_backward_op(dy, x, b, perm, g, s, ctx.scale)
    return dx, db, None, dg, ds, None

fastfood_op.register_autograd(_fastfood_backward, setup_context=_fastfood_setup_context)

def fastfood_transform(x, b, perm, g, s, scale=None, backend=None):
    """Adaptive Fastfood over the last dim, k independent n×n blocks on the same input:
        y[..., j, :] = scale · s_j ⊙ H(g_j ⊙ Π_j(H(b_j ⊙ x))),   j = 0 .. k-1,
    with H the unnormalised Sylvester matrix and (Π_j v)[i] = v[perm_j[i]]. x: (..., n), n a power of two; b, g, s:
    (k, n) float tensors (all get gradients); perm: (k, n) integer tensor, each row a permutation of range(n) (not
    checked: a repeated index gives wrong gradients). Returns (..., k, n); with (n,) vectors instead, one block and
    (..., n). scale=None means 1/n, i.e. both H's orthonormal. Output dtype = x.dtype, computed in fp32.
    backend: None/'auto' -> the fused Triton op on CUDA (n <= 4096; per block one read of x and one write of y, the
    backward one more fused kernel), else 'torch': the chain of two hadamard_transform's and elementwise ops, autograd
    through them (its Hadamards pick their own backend: Triton on CUDA, the Kronecker fallback on CPU). 'triton'
    forces the fused op, 'dense' the chain with the float64-matrix Hadamard. The chain is the one torch
    implementation of the math; the tests check both paths against the explicit matrix."""
    _check_input('fastfood_transform', x)
    n = x.shape[-1]
    if not is_pow2(n):
        raise ValueError(f"fastfood_transform: last dim n={n} is not a power of two; zero-pad it first with "
                         f"kernels.hadamard.pad_to_pow2(x) (-> n={next_pow2(n)})")
    one = b.dim() == 1
    k = 1 if one else b.shape[0]
    for name, v in (('b', b), ('g', g), ('s', s), ('perm', perm)):
        if v.shape != ((n,) if one else (k, n)):
            raise ValueError(f"fastfood_transform: {name} must have shape {(n,) if one else (k, n)} like b; "
                             f"got {tuple(v.shape)}")
    if perm.is_floating_point():
        raise TypeError(f"fastfood_transform: perm must be an integer tensor; got {perm.dtype}")
    if one:
        b, perm, g, s = b[None], perm[None], g[None], s[None]       # (1, n)
    scale = 1.0 / n if scale is None else float(scale)
    resolved = _resolve_backend('fastfood_transform', x, n, backend, MAX_FASTFOOD_TRITON_N)
    if resolved == 'triton':
        y = fastfood_op(x, b, perm, g, s, scale)                    # (..., k, n)
    else:
        hb = 'dense' if resolved == 'dense' else None               # Triton Hadamards on CUDA (n > 4096)
        acc = torch.float64 if x.dtype == torch.float64 else torch.float32
        idx = (perm + n * torch.arange(k, device=perm.device)[:, None]).view(-1)        # (k*n,) each block's Π, flat
        v = hadamard_transform(x.to(acc).unsqueeze(-2) * b.to(acc), scale=1.0, backend=hb)   # H(b ⊙ x)  (..., k, n)
        v = v.flatten(-2).index_select(-1, idx).view(v.shape) * g.to(acc)                # g ⊙ Π(...)
        y = (hadamard_transform(v, scale=1.0, backend=hb) * (s.to(acc) * scale)).to(x.dtype)
    return y.squeeze(-2) if one else y
