"""
Benchmarks for nanoreparam, one section per flag, several sections per call allowed:

    python bench.py --kernels                          # Walsh-Hadamard transform kernels
    python bench.py --kernels --tokens 8192 --sizes 4096 --dtypes fp32
    python bench.py --layers                           # fastfood and blockdiag layers vs dense nn.Linear
    python bench.py --variants                         # a training step of the default model, every variant
    python bench.py --relstep                          # how far one AdamW step moves each variant's weight
    python bench.py --bases                            # random bases vs dense at the d20 shape, ~40 min on 2 cores
    python bench.py --against ../nanoGPT/model.py      # the dense step against another model.py, one process
    python bench.py --gpu                              # the prepared GPU check: one markdown report, < 8 min
    python bench.py --tiny                             # the same check on CPU at toy sizes, in seconds

--kernels   y = x @ H_n * scale over the last dim, x = (tokens, n): torch.clone (the memory floor: one read, one
            write), dense x @ H (the matmul it replaces), a plain torch radix-2 butterfly, our torch Kronecker fallback,
            our Triton kernel (CUDA only), Dao's fast_hadamard_transform (when importable), and our forward+backward;
            on CUDA also a whole Fastfood block s ⊙ H(g ⊙ Π(H(b ⊙ x))), fused kernel vs the chain of separate ops.
            Defaults: on CUDA tokens {8192, 32768} x n {256 ... 32768}, then the long vectors (16, 2^20) and (1, 2^23)
            (multi-pass Triton; dense is skipped above 32768); on CPU tokens 8192 x n {256, 1024, 4096} (about two
            minutes on 2 cores; dense is skipped for n > 4096 on CPU).

--variants  one training step (forward, backward, AdamW) of train.py's default model under each variant of
            model.VARIANT_TABLE (the rows of `python model.py --compare`): time and peak memory as ratios to dense
            (random bases regenerated and cached).

--relstep   per variant of train.py's default model on the embedded corpus (pystdlib_char, prepared if missing): a few
            AdamW steps at lr 3e-3 (model.optim_groups: each variant's lr and weight-decay multipliers), then one more;
            the relative change of every effective weight W = layer(I)^T in that step, RMS(ΔW) / RMS(W), averaged over
            layers and roles, and its ratio to dense's (role by role). docs/variants.md#learning-rates derives it.

--bases     a training step at the d20 shape (20 x 1280, micro-batch 1 x 128) under basis d = 8 and intrinsic d = 1,000 and
            10^6 (Fastfood projections, regenerated every step) against dense, with 1 micro-step a step and with 8 (the
            projection is paid once per optimizer step); then a profile of one step's projection work alone.

--against   train.py's default dense model (4 x 128, 4 heads) against the same shape built by another model.py, at
            nanoGPT's side-by-side shapes (block 64 x batch 12, block 128 x batch 32): a training step of each
            (forward, backward, clipping, the AdamW its train.py makes), alternating in one process on the same random
            tokens; median ms/step, their ratio, the quartiles of the step-by-step ratios, and whether the losses were
            equal at every step. With this repo's model.py at another commit (`git show REF:model.py > /tmp/ref/model.py`)
            it also trains every variant of model.VARIANT_TABLE a few steps at a small shape under both files and
            says whether losses, weights and buffers came out bit for bit equal: the check that a speed-up keeps
            every result trained before it. With nanoGPT's model.py it is the in-process twin of timing the two
            train.py runs one after the other, steadier on a machine whose speed drifts.

--layers    fastfood and blockdiag layers (model.py, blocks=4) against nn.Linear(n, n) of the same emulated size: forward
            and forward+backward with the input gradient, x = (tokens, n), eager. Defaults: tokens 8192 x n {1024, 4096}
            on CPU, {1024, 4096, 8192} on CUDA.

--gpu       on one CUDA GPU, synthetic tokens, no network, at most 8 minutes (--budget): Walsh-Hadamard fused vs
            torch.clone vs dense matmul (n 1024 ... 16384, bf16 and fp32, 8192 rows; and fused vs clone on one fp32
            vector of n = 2^23, multi-pass); Fastfood and blockdiag layers vs
            nn.Linear (n 4096, 8192); tokens/s and MFU of d20 dense and lowrank and d12 dense (compile, bf16); step
            time and peak memory of basis d = 8 (and 10^4 at d12) and intrinsic d = 1,000 and 10^6 vs dense at d12
            and d20. Writes bench_gpu.md with the targets and pass/fail. --tiny runs the same code on CPU at toy sizes.

All numbers are medians of several timed runs measured side by side in this one process on the same tensors; compare
machines by the ratios (to clone, to dense), and absolute times only within one machine. Every row also prints its
max error against a float64 oracle on a few rows, so a fast wrong kernel cannot hide. Each section is one
bench_<section>(args) function and one flag; parameter and FLOP counts are `python model.py --compare`'s.
"""
import argparse
import contextlib
import dataclasses
import importlib.util
import io
import math
import os
import statistics
import time

import torch

from cli import ArgumentParser, UsageError, exit_on_user_error
from kernels.hadamard import (MAX_FASTFOOD_TRITON_N, MAX_TRITON_N, fastfood_transform, hadamard_transform, is_pow2,
                              sylvester)

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}

# -----------------------------------------------------------------------------
# timing

_l2_flush = None

def timeit(fn, device, reps, warmup=1):
    """Median wall time of fn() in ms. On CUDA: CUDA events, with a 256 MB write before each run so L2 (50 MB on an
    H100) starts cold for every run, like Triton's do_bench."""
    global _l2_flush
    for _ in range(warmup):
        fn()
    times = []
    if device.type == 'cuda':
        if _l2_flush is None:
            _l2_flush = torch.empty(256 * 2 ** 20, dtype=torch.int8, device=device)
        for _ in range(reps):
            _l2_flush.zero_()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
    else:
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)

def machine_line(device):
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    try:
        import triton
        tv = triton.__version__
    except ImportError:
        tv = 'not installed'
    return f"{name}; torch {torch.__version__}; triton {tv}; {time.strftime('%Y-%m-%d %H:%M')}"

# -----------------------------------------------------------------------------
# --kernels: Walsh-Hadamard transform

def fwht_radix2(x, scale):
    """Plain-torch radix-2 butterfly, for comparison: log2(n) stages over two fp32 ping-pong buffers with add/sub
    out= (no allocation per stage). Stage h pairs columns i and i + h through the view (rows, n/2h, 2, h)."""
    n = x.shape[-1]
    a = x.reshape(-1, n).to(torch.float32, copy=True)
    b = torch.empty_like(a)
    h = 1
    while h < n:
        av, bv = a.view(-1, n // (2 * h), 2, h), b.view(-1, n // (2 * h), 2, h)
        torch.add(av[:, :, 0], av[:, :, 1], out=bv[:, :, 0])
        torch.sub(av[:, :, 0], av[:, :, 1], out=bv[:, :, 1])
        a, b = b, a
        h *= 2
    return a.mul_(scale).to(x.dtype).view(x.shape)

def bench_kernels(args):
    device = torch.device(args.device)
    on_cuda = device.type == 'cuda'
    tokens = args.tokens or ([8192, 32768] if on_cuda else [8192])
    sizes = args.sizes or ([256, 1024, 4096, 8192, 16384, 32768] if on_cuda else [256, 1024, 4096])
    shapes = [(T, n) for T in tokens for n in sizes]
    if on_cuda and not (args.tokens or args.sizes):
        shapes += [(16, 1 << 20), (1, 1 << 23)]   # long vectors: multi-pass Triton (random-basis projections)
    dtypes = [DTYPES[d] for d in args.dtypes]
    reps = args.reps or (20 if on_cuda else 5)
    try:
        from fast_hadamard_transform import hadamard_transform as dao_hadamard
    except ImportError:
        dao_hadamard = None
    print(f"## --kernels: Walsh-Hadamard transform, y = x @ H_n / sqrt(n), x = (tokens, n)\n")
    print(f"{machine_line(device)}; median of {reps} runs.")
    print("GB/s counts one read and one write of x per transform; 'x clone' and 'x dense' are time ratios (lower is "
          "better; forward+backward is two transforms, so it is compared with two clones and two matmuls); max err is "
          "vs a float64 oracle on 4 rows.\n")
    print("| tokens | n | dtype | method | ms | GB/s | x clone | x dense | max err |")
    print("|---|---|---|---|---|---|---|---|---|")
    g = torch.Generator(device='cpu').manual_seed(0)
    for T, n in shapes:
        scale = 1 / math.sqrt(n)
        # oracle on 4 rows: the float64 Sylvester matrix while it is small, else our fallback in float64 (which
        # tests/test_hadamard.py checks against the matrix up to n = 16384)
        for dtype in dtypes:
            x = torch.randn(T, n, generator=g).to(device=device, dtype=dtype)
            xs = x[:4].double().cpu()
            ref = xs @ sylvester(n, torch.float64, cache=False) * scale if n <= 4096 else \
                hadamard_transform(xs, backend='torch')
            nbytes = 2 * x.numel() * x.element_size()
            methods = [('torch.clone (floor)', lambda: torch.clone(x), None)]     # (name, fn, oracle rows)
            if n <= (MAX_TRITON_N if on_cuda else 4096):            # the n x n matrix: 4 GB of fp32 at 32768
                H = sylvester(n, dtype, device, cache=False) * scale    # (n, n), built on the device
                methods.append(('dense x @ H', lambda: x @ H, ref))
            methods.append(('torch radix-2 butterfly', lambda: fwht_radix2(x, scale), ref))
            methods.append(('ours: torch Kronecker fallback', lambda: hadamard_transform(x, backend='torch'), ref))
            if on_cuda:
                methods.append(('ours: Triton kernel' + (' (multi-pass)' if n > MAX_TRITON_N else ''),
                                lambda: hadamard_transform(x, backend='triton'), ref))
            if dao_hadamard is not None and on_cuda and n <= 32768:     # Dao's kernel stops at 32768
                methods.append(('fast_hadamard_transform (Dao)', lambda: dao_hadamard(x, scale), ref))
            if on_cuda and n <= MAX_FASTFOOD_TRITON_N:
                # a whole Fastfood block s ⊙ H(g ⊙ Π(H(b ⊙ x))) / n: fused kernel vs the chain of separate ops
                b, gg, s = (torch.randn(n, generator=g).to(device) for _ in range(3))
                perm = torch.randperm(n, generator=g).to(device)
                ref_ff = fastfood_transform(xs, b.double().cpu(), perm.cpu(), gg.double().cpu(), s.double().cpu(),
                                            backend='torch')
                methods.append(('Fastfood block: chain of ops',
                                lambda: fastfood_transform(x, b, perm, gg, s, backend='torch'), ref_ff))
                methods.append(('ours: Fastfood block fused (Triton)',
                                lambda: fastfood_transform(x, b, perm, gg, s, backend='triton'), ref_ff))
            times, errs = {}, {}
            for name, fn, want in methods:
                times[name] = timeit(fn, device, reps)
                errs[name] = '-' if want is None else f"{(fn()[:4].double().cpu() - want).abs().max().item():.1e}"
            H = None                                            # free the dense n x n matrix before going on
            # forward + backward of ours (backend auto: Triton on CUDA, the fallback on CPU): two transforms
            xg = x.detach().clone().requires_grad_()
            dy = torch.randn_like(x)
            def fwd_bwd():
                xg.grad = None
                hadamard_transform(xg).backward(dy)
            name = 'ours: forward+backward (auto)'
            times[name], errs[name] = timeit(fwd_bwd, device, reps), '-'
            clone, dense = times['torch.clone (floor)'], times.get('dense x @ H')
            for name, ms in times.items():
                k = 2 if name == 'ours: forward+backward (auto)' else 1   # two transforms: vs 2 clones, 2 matmuls
                print(f"| {T} | {n} | {args_dtype(dtype)} | {name} | {ms:.4g} | {k * nbytes / ms / 1e6:.1f} | "
                      f"{ms / (k * clone):.2f} | {f'{ms / (k * dense):.3f}' if dense else 'skipped'} | "
                      f"{errs[name]} |", flush=True)
            del x, xg, dy, methods
            if on_cuda:
                torch.cuda.empty_cache()

# -----------------------------------------------------------------------------
# --layers: structured layers against the dense matmul they emulate

def bench_layers(args):
    """fastfood and blockdiag (model.py, cfg.blocks = 4) against nn.Linear(n, n) of the same emulated n x n weight:
    forward, and forward + backward with an input gradient (as inside a network), x = (tokens, n). Eager mode; the
    modules and x are cast to the dtype (no autocast)."""
    from model import GPTConfig, make_linear
    device = torch.device(args.device)
    on_cuda = device.type == 'cuda'
    tokens = args.tokens or [8192]
    sizes = args.sizes or ([1024, 4096, 8192] if on_cuda else [1024, 4096])
    dtypes = [DTYPES[d] for d in args.dtypes]
    reps = args.reps or (20 if on_cuda else 3)
    print(f"## --layers: structured layers vs the dense n x n matmul they emulate, x = (tokens, n)\n")
    print(f"{machine_line(device)}; median of {reps} runs; eager.")
    print("'x dense' is the time ratio to nn.Linear(n, n, bias=False) on the same x (lower is better); forward+backward "
          "includes the input gradient.\n")
    print("| tokens | n | dtype | layer | trainable | fwd ms | fwd x dense | fwd+bwd ms | fwd+bwd x dense |")
    print("|---|---|---|---|---|---|---|---|---|")
    for T in tokens:
        for n in sizes:
            for dtype in dtypes:
                torch.manual_seed(0)
                layers = {'nn.Linear (dense)': torch.nn.Linear(n, n, bias=False)}
                for variant in ('fastfood', 'blockdiag'):
                    layers[variant] = make_linear(GPTConfig(linear=variant), 'mlp.fc', 0, n, n)
                x = torch.randn(T, n, device=device, dtype=dtype)
                xg = x.clone().requires_grad_()
                dy = torch.randn_like(x)
                rows = {}
                for name, layer in layers.items():
                    layer.to(device=device, dtype=dtype)
                    def fwd():
                        with torch.no_grad():
                            layer(x)
                    def fwd_bwd():
                        layer.zero_grad(set_to_none=True)
                        xg.grad = None
                        layer(xg).backward(dy)
                    trainable = sum(p.numel() for p in layer.parameters())
                    rows[name] = trainable, timeit(fwd, device, reps), timeit(fwd_bwd, device, reps)
                    layer.to('cpu')                                 # free the device for the next layer
                _, dense_f, dense_fb = rows['nn.Linear (dense)']
                for name, (trainable, f, fb) in rows.items():
                    print(f"| {T} | {n} | {args_dtype(dtype)} | {name} | {trainable:,} | {f:.4g} | {f / dense_f:.2f} | "
                          f"{fb:.4g} | {fb / dense_fb:.2f} |", flush=True)
                del x, xg, dy, layers
                if on_cuda:
                    torch.cuda.empty_cache()

# -----------------------------------------------------------------------------
# --variants: a whole training step of the same model under each variant

class StepMemory:
    """What a training step holds at its peak, in bytes, measured without CUDA: parameters, their gradients and AdamW's
    two moments, plus every tensor autograd saves for the backward pass (counted once per storage), plus the buffers.
    On CUDA bench_variants reports torch.cuda.max_memory_allocated instead."""
    def __init__(self):
        self.saved, self.seen = 0, set()

    def pack(self, t):
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in self.seen:
            self.seen.add(key)
            self.saved += key[1]
        return t

    def total(self, model):
        params = sum(p.numel() * p.element_size() for p in model.parameters())
        buffers = sum(b.numel() * b.element_size() for b in model.buffers())
        return self.saved + 4 * params + buffers     # weights, grads, exp_avg, exp_avg_sq


def bench_variants(args):
    """One training step (forward, backward, AdamW) of train.py's default model (model.TABLE_BASE, batch 32) under
    each variant of model.VARIANT_TABLE, basis rows with their directions regenerated and cached: median time and
    peak memory, as ratios to dense."""
    from model import GPT, GPTConfig, TABLE_BASE, VARIANT_TABLE
    device = torch.device(args.device)
    on_cuda = device.type == 'cuda'
    reps = args.reps or (20 if on_cuda else 3)
    base = TABLE_BASE
    x = torch.randint(0, base['vocab_size'], (32, base['block_size']), device=device)
    rows = []
    for name, kw in VARIANT_TABLE:
        if kw.get('linear') == 'basis':
            rows += [(f'{name}, regenerated', kw), (f'{name}, cached', dict(kw, basis_cache=True))]
        else:
            rows.append((name, kw))
    print("## --variants: one training step of the default model (4 x 128, batch 32 x 128 tokens), fp32, eager\n")
    print(f"{machine_line(device)}; median of {reps} runs. Memory: "
          + ("torch.cuda.max_memory_allocated." if on_cuda else
             "weights + grads + AdamW moments + buffers + tensors saved for backward (StepMemory).") + "\n")
    print("| variant | trainable non-emb | ms/step | x dense | memory MB | x dense |")
    print("|---|---|---|---|---|---|")
    dense = None
    for name, kw in rows:
        torch.manual_seed(0)
        model = GPT(GPTConfig(**{**base, **kw})).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        def step():
            _, loss = model(x, x)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        ms = timeit(step, device, reps)
        if on_cuda:
            torch.cuda.reset_peak_memory_stats()
            step()
            mem = torch.cuda.max_memory_allocated()
        else:
            meter = StepMemory()
            with torch.autograd.graph.saved_tensors_hooks(meter.pack, lambda t: t):
                _, loss = model(x, x)
            mem = meter.total(model)
            del loss
        dense = dense or (ms, mem)
        trainable = model.param_counts()['trainable_nonembedding']
        print(f"| {name} | {trainable:,} | {ms:.1f} | {ms / dense[0]:.2f} | {mem / 2**20:.1f} | {mem / dense[1]:.2f} |",
              flush=True)
        del model, opt


# -----------------------------------------------------------------------------
# --against: this repo's dense step and another model.py's, alternating in one process

AGAINST_SHAPES = [(64, 12), (128, 32)]  # (block, batch): the two shapes of nanoGPT's side-by-side comparison
AGAINST_SMALL = dict(n_layer=2, n_head=2, n_embd=32, block_size=32)  # every variant's float check, in seconds


def load_model_file(path):
    """The module of a model.py outside this repo (nanoGPT's, or this repo's at another commit): it must define
    GPTConfig, a dataclass with the GPT-2 shape fields, and GPT(config), whose forward(x, y) returns (logits, loss)."""
    if not os.path.isfile(path):
        raise UsageError(f"--against {path}: no such file; give a model.py, e.g. nanoGPT's or "
                         f"`git show REF:model.py > /tmp/ref/model.py`")
    spec = importlib.util.spec_from_file_location(f'against_{abs(hash(os.path.abspath(path)))}', path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as e:  # a file that is not Python, or imports what is not installed
        raise UsageError(f"--against {path}: cannot import it ({type(e).__name__}: {e})") from None
    cfg = getattr(mod, 'GPTConfig', None)
    if not (dataclasses.is_dataclass(cfg) and hasattr(mod, 'GPT')):
        raise UsageError(f"--against {path}: defines no GPTConfig dataclass and GPT model; give a nanoGPT-style model.py")
    missing = {'block_size', 'vocab_size', 'n_layer', 'n_head', 'n_embd'} - config_fields(mod)
    if missing:
        raise UsageError(f"--against {path}: its GPTConfig lacks {sorted(missing)}; give a nanoGPT-style model.py")
    return mod


def config_fields(mod):
    return {f.name for f in dataclasses.fields(mod.GPTConfig)}


def against_model(mod, shape, device, seed=0):
    """mod's GPT at shape (dense, dropout 0, no biases where it has the option), built after torch.manual_seed(seed),
    and the optimizer its train.py would make: nanoGPT's configure_optimizers (the per-tensor loop on CPU), this
    repo's optim_groups with foreach AdamW (fused on CUDA), else plain AdamW."""
    kw = {k: v for k, v in dict(shape, dropout=0.0, bias=False).items() if k in config_fields(mod)}
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()):  # nanoGPT prints its parameter count and AdamW flavour
        model = mod.GPT(mod.GPTConfig(**kw)).to(device)
        if hasattr(model, 'configure_optimizers'):
            opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), device.type)
        elif hasattr(model, 'optim_groups'):
            fused = device.type == 'cuda'
            opt = torch.optim.AdamW(model.optim_groups(0.1), lr=1e-3, betas=(0.9, 0.95), fused=fused, foreach=not fused)
        else:
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return model, opt


def bench_against(args):
    """One training step (forward, backward, clipping at 1, AdamW) of train.py's default dense model and of the same
    shape built by another model.py, the two models' steps alternating (which goes first alternates too) in this one
    process on the same random tokens, at the two shapes of the side-by-side comparison: median ms/step of each, the
    ratio, the spread of step-by-step ratios, and whether the two losses were equal at every step; then, when the
    other file is this repo's model.py at another commit, against_variants' bit-for-bit table. On a VM whose speed
    drifts between runs minutes apart, this is steadier than timing two train.py runs one after the other."""
    import model as ours
    device = torch.device(args.device)
    other = load_model_file(args.against)
    reps = args.reps or 100
    warmup = min(10, reps)
    print(f"## --against {args.against}: a training step, the two models alternating in one process, fp32, eager\n")
    print(f"{machine_line(device)}; {reps} timed steps a model after {warmup} untimed\n")
    print("| shape (4 x 128, 4 heads) | this repo ms/step | other ms/step | ratio | step ratios, quartiles "
          "| losses equal |")
    print("|---|---|---|---|---|---|")
    for block, batch in AGAINST_SHAPES:
        shape = dict(ours.TABLE_BASE, block_size=block, n_layer=4, n_head=4, n_embd=128)
        models = [against_model(ours, shape, device), against_model(other, shape, device)]
        gen = torch.Generator().manual_seed(1)
        times, losses = [[], []], [[], []]
        for i in range(warmup + reps):
            x, y = against_batch(gen, shape['vocab_size'], batch, block, device)
            for j in ((0, 1) if i % 2 == 0 else (1, 0)):
                _sync(device)
                t0 = time.perf_counter()
                loss = train_step(*models[j], [(x, y)])
                _sync(device)
                if i >= warmup:
                    times[j].append((time.perf_counter() - t0) * 1e3)
                losses[j].append(loss.item())
        a, b = (statistics.median(t) for t in times)
        q = statistics.quantiles([u / v for u, v in zip(*times)], n=4) if reps > 1 else [a / b] * 3
        diff = next((k for k, (u, v) in enumerate(zip(*losses)) if u != v), None)
        same = 'yes' if diff is None else f'no (from step {diff})'
        print(f"| block {block} x batch {batch} | {a:.1f} | {b:.1f} | **{a / b:.2f}x** | {q[0]:.2f}-{q[2]:.2f} "
              f"| {same} |", flush=True)
        del models
    if 'linear' in config_fields(other):  # this repo's model.py at another commit
        against_variants(other, device)


def against_variants(other, device, steps=4, batch=4, small=AGAINST_SMALL):
    """With this repo's model.py at another commit: every variant of model.VARIANT_TABLE, at a small shape (seconds,
    where the dense-projected bases take minutes at the default one), trains a few AdamW steps under both files from the
    same seed and tokens; a row says whether every loss and every weight and buffer came out equal, bit for bit. A
    speed-up that keeps the floats keeps every result trained before it."""
    import model as ours
    names = config_fields(other)
    block = small['block_size']
    print(f"\n| variant ({small['n_layer']} x {small['n_embd']}, {steps} steps of {batch} x {block} tokens) "
          f"| losses, weights and buffers bit for bit |")
    print("|---|---|")
    for name, kw in ours.VARIANT_TABLE:
        missing = sorted(set(kw) - names)
        if missing:
            print(f"| {name} | n/a: the other GPTConfig has no {', '.join(missing)} |")
            continue
        shape = {**ours.TABLE_BASE, **small, **kw}
        pair = [against_model(mod, shape, device) for mod in (ours, other)]
        gen = torch.Generator().manual_seed(1)
        losses = [[], []]
        for _ in range(steps):
            x, y = against_batch(gen, shape['vocab_size'], batch, block, device)
            for j in (0, 1):
                losses[j].append(train_step(*pair[j], [(x, y)]).item())
        states = [model.state_dict() | dict(model.named_buffers()) for model, _ in pair]
        same = losses[0] == losses[1] and states[0].keys() == states[1].keys() and all(
            torch.equal(states[0][k], states[1][k]) for k in states[0])
        print(f"| {name} | {'yes' if same else 'NO'} |", flush=True)


def against_batch(gen, vocab_size, batch, block, device):
    tokens = torch.randint(0, vocab_size, (batch, block + 1), generator=gen).to(device)
    return tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()


# -----------------------------------------------------------------------------
# --relstep: the relative step of each variant's effective weight

RELSTEP_ROWS = [
    ('dense', {}),
    ('lowrank r=0.25', dict(linear='lowrank', attn_rank=0.25, mlp_rank=0.25)),
    ('lora r=8', dict(linear='lora', attn_rank=8, mlp_rank=8)),
    ('basis d=5', dict(linear='basis', basis_dim=5)),
    ('intrinsic d=5', dict(linear='intrinsic', intrinsic_dim=5)),
    ('intrinsic d=1000', dict(linear='intrinsic', intrinsic_dim=1000)),
    ('fastfood', dict(linear='fastfood')),
    ('blockdiag b=4', dict(linear='blockdiag', blocks=4)),
    ('shared all', dict(share='all')),
]


def train_step(model, opt, batches, run=None, autocast=None):
    """One optimizer step as train.py takes it: forward + backward over the micro-batches [(x, y), ...] (random bases
    project once, on the last), gradient clipping at 1, the optimizer. run: the (compiled) callable, default model.
    Returns the last micro-batch's loss. Takes another file's GPT too (bench_against), which has no last_micro_step."""
    for micro, (x, y) in enumerate(batches):
        if hasattr(model, 'last_micro_step'):
            model.last_micro_step(micro == len(batches) - 1)
        with autocast or contextlib.nullcontext():
            _, loss = (run or model)(x, y)
        loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss


def effective_weights(model):
    """{(layer, role): W (out, in)} of every variant linear that is not frozen, W = layer(I)^T (a shared module once
    per layer that uses it)."""
    from model import FrozenLinear
    with torch.no_grad():
        return {(l, role): m(torch.eye(m.in_features)).T.clone() for l, role, m in model.variant_modules()
                if not isinstance(m, FrozenLinear)}


def relative_steps(kw, tokens, lr=3e-3, warmup=10, batch=32, block=128, weight_decay=0.1, seed=0):
    """{(layer, role): RMS(ΔW) / RMS(W)} of the AdamW step after `warmup` steps at a constant lr (train.py's betas,
    gradient clipping and optim_groups), on random windows of `tokens` (a 1-d int64 tensor)."""
    from model import GPT, GPTConfig
    torch.manual_seed(seed)
    model = GPT(GPTConfig(**dict(dict(block_size=block), **kw)))
    opt = torch.optim.AdamW(model.optim_groups(weight_decay), lr=lr, betas=(0.9, 0.95))
    for g in opt.param_groups:
        g['lr'] = lr * g['lr_mult']
    gen = torch.Generator().manual_seed(seed)

    def step():
        ix = torch.randint(len(tokens) - block - 1, (batch,), generator=gen).tolist()
        x = torch.stack([tokens[i:i + block] for i in ix])
        y = torch.stack([tokens[i + 1:i + 1 + block] for i in ix])
        train_step(model, opt, [(x, y)])

    for _ in range(warmup):
        step()
    before = effective_weights(model)
    step()
    after = effective_weights(model)
    rms = lambda t: t.pow(2).mean().sqrt().item()
    return {k: rms(after[k] - before[k]) / rms(before[k]) for k in before}


def relstep_ratio(rel, dense):
    """Mean over (layer, role) of a variant's relative step over dense's at the same place."""
    keys = [k for k in rel if k in dense]
    return sum(rel[k] / dense[k] for k in keys) / len(keys)


def corpus_tokens(n=1_000_000):
    """The first n training tokens of pystdlib_char (prepared on first use, as train.py does) and its vocabulary."""
    import importlib
    import numpy as np
    from data.common import DATA_ROOT, load_meta
    d = DATA_ROOT / 'pystdlib_char'
    if not (d / 'meta.json').exists():
        importlib.import_module('data.pystdlib_char.prepare').prepare()
    meta = load_meta(d)
    data = np.memmap(d / meta['train'][0], dtype=np.dtype(meta['dtype']), mode='r')
    return torch.from_numpy(data[:n].astype(np.int64)), meta['vocab_size']


def bench_relstep(args):
    tokens, vocab = corpus_tokens()
    warmup = 10
    print(f"## --relstep: relative change of each effective weight in one AdamW step, default model (4 x 128), "
          f"pystdlib_char\n")
    print(f"{machine_line(torch.device('cpu'))}; lr 3e-3 constant, batch 32 x 128, {warmup} steps, then one measured. "
          "relstep = RMS(ΔW) / RMS(W) of W = layer(I)^T, mean (min - max) over layers and roles; x dense = mean over "
          "layers and roles of the ratio to dense's relstep at the same place.\n")
    print("| variant | trainable non-emb | relstep | min - max | x dense |")
    print("|---|---|---|---|---|")
    dense = None
    for name, kw in RELSTEP_ROWS:
        rel = relative_steps(dict(kw, vocab_size=vocab), tokens, warmup=warmup)
        dense = dense or rel
        from model import GPT, GPTConfig
        n = GPT(GPTConfig(vocab_size=vocab, block_size=128, **kw)).param_counts()['trainable_nonembedding']
        v = list(rel.values())
        print(f"| {name} | {n:,} | {sum(v) / len(v):.4f} | {min(v):.4f} - {max(v):.4f} | "
              f"{relstep_ratio(rel, dense):.2f} |", flush=True)

# -----------------------------------------------------------------------------
# --bases: random bases and the intrinsic vector at the d20 shape, against a dense step

BASES_SHAPE = dict(n_layer=20, n_embd=1280, n_head=10, block_size=128, vocab_size=4096)  # d20, pystdlib_bpe's vocab
BASES_ROWS = [
    ('dense', {}),
    ('basis d=8 per matrix', dict(linear='basis', basis_dim=8, basis_projection='fastfood')),
    ('intrinsic d=1,000', dict(linear='intrinsic', intrinsic_dim=1000)),
    ('intrinsic d=10^6', dict(linear='intrinsic', intrinsic_dim=10 ** 6)),
]


def projection_profile(cfg_kw, device):
    """{part: ms} of one P α and one P^T g for every random-basis matrix of the model, the step's projection work:
    the time inside philox.signs (B, G), philox.perm and perm_mod (Π) and hadamard_transform (H), the rest (gathers,
    index_add, products, padding) and the total. Timed by wrapping those functions as model.py calls them."""
    import model as M
    from model import GPT, GPTConfig, RandomBasisLinear
    net = GPT(GPTConfig(**cfg_kw)).to(device)
    layers = list({id(m): m for _, _, m in net.variant_modules() if isinstance(m, RandomBasisLinear)}.values())
    spent, depth = {}, [0]
    def timed(part, fn):
        def wrapper(*a, **kw):
            if depth[0]:                                            # perm_mod may call perm: count the outer call
                return fn(*a, **kw)
            _sync(device)
            depth[0] += 1
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            _sync(device)
            depth[0] -= 1
            spent[part] = spent.get(part, 0.0) + (time.perf_counter() - t0) * 1e3
            return out
        return wrapper
    targets = [(M.philox, 'signs', 'signs B, G'), (M.philox, 'perm', 'permutation Π'),
               (M.philox, 'perm_mod', 'permutation Π'), (M, 'hadamard_transform', 'Walsh-Hadamard H')]
    real = [getattr(module, name) for module, name, _ in targets]
    def both():
        for m in layers:
            alpha = m.coefficients()[0].detach()
            m.project_T(m.project(alpha))
    both()                                                          # warm: allocator, small caches
    for (module, name, part), fn in zip(targets, real):
        setattr(module, name, timed(part, fn))
    try:
        _sync(device)
        t0 = time.perf_counter()
        both()
        _sync(device)
        total = (time.perf_counter() - t0) * 1e3
    finally:
        for (module, name, _), fn in zip(targets, real):
            setattr(module, name, fn)
    spent['the rest'] = total - sum(spent.values())
    spent['total'] = total
    return spent


def bench_bases(args):
    """A training step at the d20 shape (config/dense_d20.py, micro-batch 1 x 128) under random bases and the intrinsic
    vector (Fastfood projections, regenerated), against dense: with 1 micro-step a step, and with the config's 8, where
    the projection is paid once per optimizer step; then where a random-basis step's extra time goes (bases_profile)."""
    device = torch.device(args.device)
    accums = args.accum or [1, 8]
    print(f"## --bases: random bases at the d20 shape (20 x 1280, micro-batch 1 x 128, vocab 4,096), fp32, eager\n")
    print(f"{machine_line(device)}; one warm-up step, then the mean of {args.reps or 2} steps; synthetic tokens. "
          "Fastfood projections regenerated from their seeds in every step (basis_cache off). On 2 CPU cores the "
          "table and its profile take about 40 minutes.\n")
    cols = [f"ms/step, {a} micro-step{'s' * (a > 1)} | x dense" for a in accums]
    print("| model | trainable non-emb | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|---|" * len(accums))
    dense = {}
    from model import GPT, GPTConfig
    for name, kw in BASES_ROWS:
        cfg_kw = {**BASES_SHAPE, **kw}
        trainable = GPT(GPTConfig(**cfg_kw)).param_counts()['trainable_nonembedding']
        cells = []
        for a in accums:
            ms = train_step_rate(cfg_kw, 1, args.reps or 2, 1, device, False, False, accum=a)[0]
            dense.setdefault(a, ms)
            cells.append(f"{ms:,.0f} | {ms / dense[a]:.2f}")
        print(f"| {name} | {trainable:,} | " + " | ".join(cells) + " |", flush=True)
    bases_profile(device)


def bases_profile(device):
    print("\nWhere the extra time goes: one P α and one P^T g for every random-basis matrix (a step's projection "
          "work), timed alone, split by what model.py calls (ms; the rest: gathers, index_add, products, padding).\n")
    parts = ('signs B, G', 'permutation Π', 'Walsh-Hadamard H', 'the rest', 'total')
    print("| model | " + " | ".join(parts) + " |")
    print("|---|" + "---|" * len(parts))
    for name, kw in BASES_ROWS[1:]:
        spent = projection_profile({**BASES_SHAPE, **kw}, device)
        print(f"| {name} | " + " | ".join(f"{spent.get(p, 0):,.0f}" for p in parts) + " |", flush=True)

# -----------------------------------------------------------------------------
# --gpu: the one prepared GPU check, a markdown report; --tiny runs the same code paths on CPU at toy sizes

# (name, model config, micro-batch) of the training rows; synthetic tokens, context and vocab of the d20 configs
D20 = dict(n_layer=20, n_embd=1280, n_head=10, vocab_size=65536, block_size=2048)
D12 = dict(n_layer=12, n_embd=768, n_head=6, vocab_size=65536, block_size=2048)
TINY_SHAPE = dict(n_layer=2, n_embd=64, n_head=2, vocab_size=256, block_size=32)
TARGETS = ('Hadamard (fused) <= 1.2x torch.clone for n <= 8192, bf16',
           'Fastfood layer (fused) >= 5x faster than nn.Linear at n = 4096, forward+backward, bf16',
           'dense d20 >= 40% MFU (compile, bf16)',
           'basis d = 8 and intrinsic d = 1,000 and 10^6 <= 1.5x a dense step, d12 and d20 (eager, bf16)')


class Report:
    """Lines printed as they come and kept for the markdown file; a deadline after which rows are skipped."""
    def __init__(self, seconds):
        self.lines, self.deadline = [], time.time() + seconds

    def __call__(self, line=''):
        print(line, flush=True)
        self.lines.append(line)

    def left(self):
        return self.deadline - time.time()


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def _free(device):
    import gc
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def gpu_hadamard(rep, device, tiny, results):
    rows, sizes, reps = (64, [64, 256], 3) if tiny else (8192, [1024, 2048, 4096, 8192, 16384], 10)
    long_n = 1 << 12 if tiny else 1 << 23                   # one long vector: multi-pass Triton (n > MAX_TRITON_N)
    rep(f"## Walsh-Hadamard transform, x = ({rows}, n), y = x @ H_n / sqrt(n)\n")
    rep("Median ms of the fused transform (`hadamard_transform`: Triton on CUDA, the Kronecker fallback on CPU), "
        "`torch.clone` (one read and one write: the floor) and the dense matmul `x @ H` it replaces; max err of the "
        f"fused transform vs a float64 oracle on 4 rows. The last row is one vector of n = {long_n}, fp32, the shape "
        "of the random-basis projections (multi-pass Triton on CUDA; no dense matmul at that size).\n")
    rep("| n | dtype | clone ms | fused ms | dense ms | fused / clone | dense / fused | max err | target |")
    rep("|---|---|---|---|---|---|---|---|---|")
    g = torch.Generator().manual_seed(0)
    cases = [(dtype, rows, n) for dtype in (torch.bfloat16, torch.float32) for n in sizes] + \
        [(torch.float32, 1, long_n)]
    for dtype, rows, n in cases:
        label = f"{n}" if rows > 1 else f"{n} (1 row)"
        if rep.left() < 30:
            rep(f"| {label} | {args_dtype(dtype)} | skipped: time budget | | | | | | |")
            continue
        x = torch.randn(rows, n, generator=g).to(device=device, dtype=dtype)
        clone = timeit(lambda: torch.clone(x), device, reps)
        fused = timeit(lambda: hadamard_transform(x), device, reps)
        dense = None
        if rows > 1:                                        # not for the long vector: H_n would not fit
            H = sylvester(n, dtype, device, cache=False) * (1 / math.sqrt(n))
            dense = timeit(lambda: x @ H, device, reps)
            del H
        want = hadamard_transform(x[:4].double().cpu(), backend='torch')
        err = (hadamard_transform(x)[:4].double().cpu() - want).abs().max().item()
        ratio = fused / clone
        target = ''
        if dtype == torch.bfloat16 and n <= 8192 and not tiny:
            target = 'pass' if ratio <= 1.2 else 'fail'
            results.setdefault(TARGETS[0], []).append((f'n={n}: {ratio:.2f}x', ratio <= 1.2))
        rep(f"| {label} | {args_dtype(dtype)} | {clone:.4g} | {fused:.4g} | {f'{dense:.4g}' if dense else '-'} | "
            f"{ratio:.2f} | {f'{dense / fused:.1f}' if dense else '-'} | {err:.1e} | {target} |")
        del x
        _free(device)
    rep()


def gpu_layers(rep, device, tiny, results):
    from model import GPTConfig, make_linear
    rows, sizes, reps, dtype = (64, [64], 3, torch.float32) if tiny else (8192, [4096, 8192], 10, torch.bfloat16)
    rep(f"## Structured layers vs nn.Linear, forward + backward, x = ({rows}, n), {args_dtype(dtype)}\n")
    rep("Fastfood (one `fastfood_transform` op: fused Triton forward and backward for n <= 4096, the chain of Triton "
        "Hadamards above) and block-diagonal (4 blocks + block Hadamard) against nn.Linear(n, n, bias=False); the "
        "backward includes the input gradient. Median ms.\n")
    rep("| n | layer | trainable | fwd+bwd ms | speed-up vs nn.Linear | target |")
    rep("|---|---|---|---|---|---|")
    for n in sizes:
        if rep.left() < 30:
            rep(f"| {n} | skipped: time budget | | | | |")
            continue
        torch.manual_seed(0)
        layers = {'nn.Linear': torch.nn.Linear(n, n, bias=False)}
        for variant in ('fastfood', 'blockdiag'):
            layers[variant] = make_linear(GPTConfig(linear=variant, blocks=4), 'mlp.fc', 0, n, n)
        x = torch.randn(rows, n, device=device, dtype=dtype, requires_grad=True)
        dy = torch.randn_like(x)
        times = {}
        for name, layer in layers.items():
            layer.to(device=device, dtype=dtype)
            def fwd_bwd():
                layer.zero_grad(set_to_none=True)
                x.grad = None
                layer(x).backward(dy)
            times[name] = timeit(fwd_bwd, device, reps)
        for name, layer in layers.items():
            speedup = times['nn.Linear'] / times[name]
            target = ''
            if name == 'fastfood' and n == 4096 and not tiny:
                target = 'pass' if speedup >= 5 else 'fail'
                results.setdefault(TARGETS[1], []).append((f'n={n}: {speedup:.2f}x', speedup >= 5))
            rep(f"| {n} | {name} | {sum(p.numel() for p in layer.parameters()):,} | {times[name]:.4g} | "
                f"{speedup:.2f} | {target} |")
        del layers, x, dy
        _free(device)
    rep()


def train_step_rate(cfg_kw, batch, steps, warmup, device, compile, bf16, accum=1):
    """(ms per step, tokens/s, MFU or None, peak memory bytes or None) of `accum` micro-steps of forward + backward,
    then clip + AdamW, on one fixed batch of synthetic tokens, as train.py takes a step."""
    from model import GPT, GPTConfig, peak_flops
    torch.manual_seed(0)
    model = GPT(GPTConfig(**cfg_kw)).to(device)
    opt = torch.optim.AdamW(model.optim_groups(0.1), lr=1e-4, betas=(0.9, 0.95), fused=device.type == 'cuda')
    run = torch.compile(model) if compile else model
    T, V = cfg_kw['block_size'], cfg_kw['vocab_size']
    xy = torch.randint(0, V, (batch, T + 1), device=device)
    x, y = xy[:, :-1].contiguous(), xy[:, 1:].contiguous()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else None
    step = lambda: train_step(model, opt, [(x, y)] * accum, run, autocast)
    for _ in range(warmup):
        step()
    _sync(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            step()
        end.record()
        torch.cuda.synchronize()
        ms = start.elapsed_time(end) / steps
        mem = torch.cuda.max_memory_allocated()
    else:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        ms = (time.perf_counter() - t0) * 1e3 / steps
        mem = None
    flops = model.flops_per_token()
    tok_s = accum * batch * T / (ms / 1e3)
    peak = peak_flops(torch.cuda.get_device_name(device)) if device.type == 'cuda' and bf16 else None
    mfu = (flops['C_actual'] * tok_s + flops['step'] * 1e3 / ms) / peak if peak else None
    del model, opt, run, step
    _free(device)
    if compile:
        torch._dynamo.reset()
    return ms, tok_s, mfu, mem


def gpu_training(rep, device, tiny, results):
    compile, bf16 = not tiny, not tiny
    shape = lambda base, **kw: {**(TINY_SHAPE if tiny else base), **kw}
    batch, steps, warmup = (4, 2, 1) if tiny else (16, 30, 3)
    rows = [('dense d20', shape(D20), 150), ('lowrank d20 (r = 0.25 of break-even)',
            shape(D20, linear='lowrank', attn_rank=0.25, mlp_rank=0.25), 150), ('dense d12', shape(D12), 100)]
    rep(f"## Training step: tokens/s and MFU ({'eager, fp32 (tiny)' if tiny else 'torch.compile, bf16 autocast'})\n")
    rep(f"Synthetic tokens, micro-batch {batch} x {(TINY_SHAPE if tiny else D20)['block_size']}, one process; "
        f"{warmup} warm-up step(s) (they include the compile), then the mean of {steps} steps (CUDA events). MFU = C_actual x tokens/s "
        f"/ the GPU's dense bf16 peak (model.peak_flops).\n")
    rep("| model | ms/step | tokens/s | MFU | peak memory GB | target |")
    rep("|---|---|---|---|---|---|")
    for name, kw, need in rows:
        if rep.left() < (5 if tiny else need):
            rep(f"| {name} | skipped: time budget | | | | |")
            continue
        try:
            ms, tok_s, mfu, mem = train_step_rate(kw, batch, steps, warmup, device, compile, bf16)
        except torch.cuda.OutOfMemoryError:
            _free(device)
            rep(f"| {name} | out of memory at micro-batch {batch} | | | | |")
            continue
        target = ''
        if name == 'dense d20' and not tiny:
            target = 'pass' if mfu is not None and mfu >= 0.4 else 'fail'
            results.setdefault(TARGETS[2], []).append((f'{mfu * 100:.1f}%' if mfu is not None else 'no peak', 
                                                       mfu is not None and mfu >= 0.4))
        rep(f"| {name} | {ms:.1f} | {tok_s:,.0f} | {f'{mfu * 100:.1f}%' if mfu is not None else '-'} | "
            f"{f'{mem / 2**30:.2f}' if mem is not None else '-'} | {target} |")
    rep()


def gpu_random_bases(rep, device, tiny, results):
    batch, steps, warmup = (4, 2, 1) if tiny else (8, 5, 1)
    d_basis, d_intrinsic = ((8, 16), (100, 1000)) if tiny else ((8, 10 ** 4), (1000, 10 ** 6))
    rows = [('d12', D12, [('dense', {})]
             + [(f'basis d={d:,} per matrix', dict(linear='basis', basis_dim=d, basis_projection='fastfood'))
                for d in d_basis]
             + [(f'intrinsic d={d:,}', dict(linear='intrinsic', intrinsic_dim=d)) for d in d_intrinsic]),
            ('d20', D20, [('dense', {}), (f'basis d={d_basis[0]:,} per matrix',
                                          dict(linear='basis', basis_dim=d_basis[0], basis_projection='fastfood'))]
             + [(f'intrinsic d={d:,}', dict(linear='intrinsic', intrinsic_dim=d)) for d in d_intrinsic])]
    rep(f"## Random bases: step time and peak memory vs dense at d12 and d20{' (tiny shape)' if tiny else ''}\n")
    rep(f"Eager, {'fp32' if tiny else 'bf16 autocast'}, micro-batch {batch} x "
        f"{(TINY_SHAPE if tiny else D12)['block_size']}, one micro-step a step; mean of {steps} steps after one "
        "warm-up. Fastfood projections, regenerated from their seeds once per step (basis_cache off).\n")
    rep("| shape | model | ms/step | x dense | peak memory GB | x dense | target |")
    rep("|---|---|---|---|---|---|---|")
    for shape, base, shape_rows in rows:
        dense = None
        for name, kw in shape_rows:
            if rep.left() < (5 if tiny else 30):
                rep(f"| {shape} | {name} | skipped: time budget | | | | |")
                continue
            try:
                ms, _, _, mem = train_step_rate({**(TINY_SHAPE if tiny else base), **kw}, batch, steps, warmup,
                                                device, False, not tiny)
            except torch.cuda.OutOfMemoryError:
                _free(device)
                rep(f"| {shape} | {name} | out of memory | | | | |")
                continue
            dense = dense or (ms, mem)
            mem_s = f'{mem / 2**30:.2f} | {mem / dense[1]:.2f}' if mem is not None and dense[1] else '- | -'
            target = ''
            if name != 'dense' and not name.startswith('basis d=10,000') and not tiny:
                ok = ms / dense[0] <= 1.5
                target = 'pass' if ok else 'fail'
                results.setdefault(TARGETS[3], []).append((f'{shape} {name} {ms / dense[0]:.2f}x', ok))
            rep(f"| {shape} | {name} | {ms:.1f} | {ms / dense[0]:.2f} | {mem_s} | {target} |")
    rep()


def bench_gpu(args):
    """The prepared GPU check: every table of a first CUDA run in one markdown report, under args.budget seconds
    (rows that would not fit are marked skipped). --tiny: the same code on CPU at toy sizes, in seconds."""
    tiny = args.tiny
    if not tiny and not torch.cuda.is_available():
        raise SystemExit('error: --gpu needs a CUDA GPU (none is visible); use --tiny for the CPU rehearsal')
    device = torch.device('cpu' if tiny else 'cuda')
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True            # as train.py
        torch.backends.cudnn.allow_tf32 = True
    rep = Report(args.budget)
    results = {}
    rep(f"# nanoreparam GPU check{' (--tiny: CPU rehearsal at toy sizes, not a measurement)' if tiny else ''}\n")
    rep(f"{machine_line(device)}. `python bench.py {'--tiny' if tiny else '--gpu'}`, budget {args.budget:.0f} s; "
        "fp32 matmuls use TF32 on CUDA, as in train.py.\n")
    for section in (gpu_hadamard, gpu_layers, gpu_training, gpu_random_bases):
        section(rep, device, tiny, results)
    rep("## Targets\n" + ("\nNot measured by a --tiny run.\n" if tiny else ''))
    rep("| target | measured | pass/fail |")
    rep("|---|---|---|")
    for t in TARGETS:
        got = results.get(t)
        rep(f"| {t} | {', '.join(m for m, _ in got) if got else 'not measured'} | "
            f"{('pass' if all(ok for _, ok in got) else 'fail') if got else '-'} |")
    path = args.report or ('bench_gpu_tiny.md' if tiny else 'bench_gpu.md')
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        f.write('\n'.join(rep.lines) + '\n')
    os.replace(tmp, path)
    print(f'report: {path} ({time.time() - rep.deadline + args.budget:.0f} s)')


def args_dtype(dtype):
    return {v: k for k, v in DTYPES.items()}[dtype]

# -----------------------------------------------------------------------------

def int_list(text):
    """'8192,32768' -> [8192, 32768]"""
    return [int(v) for v in text.split(',')]


def main():
    p = ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--kernels', action='store_true', help='Walsh-Hadamard transform kernels, side by side')
    p.add_argument('--layers', action='store_true', help='fastfood and blockdiag layers vs the dense nn.Linear they emulate')
    p.add_argument('--variants', action='store_true', help='a training step of the default model under each variant')
    p.add_argument('--relstep', action='store_true', help="one AdamW step's relative change of each variant's weight")
    p.add_argument('--bases', action='store_true', help='random bases vs dense at the d20 shape (~40 min on 2 cores)')
    p.add_argument('--against', default=None, metavar='MODEL_PY',
                   help="the dense step against another model.py's (nanoGPT's, or this one at another commit)")
    p.add_argument('--accum', type=int_list, default=None, help='--bases: micro-steps per step (default 1,8)')
    p.add_argument('--gpu', action='store_true', help='the prepared GPU check: every table in one markdown report')
    p.add_argument('--tiny', action='store_true', help='--gpu on CPU at toy sizes, in seconds (tests/test_bench.py)')
    p.add_argument('--report', default=None, help='--gpu / --tiny: the markdown file (default bench_gpu[_tiny].md)')
    p.add_argument('--budget', type=float, default=400,
                   help='--gpu: seconds before remaining rows are skipped (default 400: the check ends within 8 min)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--tokens', type=int_list, default=None,
                   help='comma-separated row counts (default: 8192,32768 on CUDA, 8192 on CPU)')
    p.add_argument('--sizes', type=int_list, default=None,
                   help='comma-separated transform sizes n (default: 256..32768 and 2^20, 2^23 on CUDA, '
                        '256,1024,4096 on CPU)')
    p.add_argument('--dtypes', type=lambda s: s.split(','), default=['fp32', 'bf16'], help='from fp32,bf16,fp16')
    p.add_argument('--reps', type=int, default=None, help='timed runs per row (median reported)')
    p.add_argument('--threads', type=int, default=None,
                   help="torch CPU threads (default: torch's); 1 is steadier when other jobs share the cores")
    args = p.parse_args()
    if not (args.kernels or args.layers or args.variants or args.relstep or args.bases or args.against or args.gpu
            or args.tiny):
        p.error('pick at least one section: --kernels, --layers, --variants, --relstep, --bases, --against, --gpu or '
                '--tiny')
    bad = [d for d in args.dtypes if d not in DTYPES]
    if bad:
        p.error(f"--dtypes: unknown {bad}; use some of {list(DTYPES)}")
    if any(t < 1 for t in args.tokens or []) or any(n < 2 or not is_pow2(n) for n in args.sizes or []):
        p.error('--tokens must be positive and --sizes powers of two from 2 up, e.g. --tokens 8192 --sizes 1024,4096')
    for flag in ('reps', 'threads'):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            p.error(f'--{flag}={getattr(args, flag)} must be at least 1')
    from configurator import pick_device
    args.device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.kernels:
        bench_kernels(args)
    if args.layers:
        bench_layers(args)
    if args.variants:
        bench_variants(args)
    if args.relstep:
        bench_relstep(args)
    if args.bases:
        bench_bases(args)
    if args.against:
        bench_against(args)
    if args.gpu or args.tiny:
        bench_gpu(args)

if __name__ == '__main__':
    exit_on_user_error()
    main()
