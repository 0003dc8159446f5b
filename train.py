"""
Train a GPT whose linear layers come from model.make_linear. Single process or DDP:

    python train.py                                   # default small model on the embedded corpus, CPU minutes
    python train.py config/lowrank_small.py --max_iters=500
    torchrun --standalone --nproc_per_node=8 train.py config/lowrank_d20.py

Every run writes out_dir/{ckpt.pt, best.pt, config.json, log.jsonl}. Kill it at any moment and resume it with
--init_from=resume: the checkpoint holds every state the next step depends on (trainable tensors, optimizer,
GradScaler, data sampler, RNGs of every rank), so on CPU in fp32 a resumed run repeats the uninterrupted one
bit for bit. SIGTERM / SIGINT save a checkpoint at the next step boundary and exit.
"""
import gc
import importlib
import json
import math
import os
import random
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from model import GPT, GPTConfig, ConfigError, config_from_dict, iters_for_budget, peak_flops, step_repeats
from checkpoint import save_checkpoint, load_checkpoint, load_model_state, CheckpointError
from configurator import configure, pick_device, types_of
from cli import exit_on_user_error, make_dir, read_jsonl
from data.common import load_meta, DATA_ROOT
from data.tokenizer import load_tokenizer

# -----------------------------------------------------------------------------
# default config: a small model that trains on the embedded corpus in a few CPU minutes
# I/O
out_dir = 'out'
eval_interval = 100
log_interval = 20
eval_iters = 20            # val batches per eval (fixed: the same batches every time)
eval_only = False
init_from = 'scratch'      # 'scratch' or 'resume' (from out_dir/ckpt.pt)
wandb_log = False          # also log every log.jsonl record to Weights & Biases (pip install -r requirements-wandb.txt)
wandb_project = 'nanoreparam'
wandb_run_name = ''        # '' = wandb's own name
# data
dataset = 'pystdlib_char'
data_dir = ''              # folder of the prepared dataset; '' = data/<dataset>
batch_size = 32            # per micro-step, per process
block_size = 128
gradient_accumulation_steps = 1  # global: divided among DDP processes
# model (every other GPTConfig field in model.py is a config key too, with the default given there)
n_layer = 4
n_head = 4
n_embd = 128
dropout = 0.0
linear = 'dense'
# optimizer: AdamW, warmup then cosine decay to min_lr
optimizer = 'adamw'        # adamw | muon: Muon for the 2-D trainable matrices of the blocks, AdamW for the rest
muon_lr = 0.02             # Muon's peak lr (nanochat's), on the same warmup and decay as learning_rate
muon_momentum = 0.95       # reached after 300 steps from 0.85 (nanochat's warmup); Nesterov
learning_rate = 3e-3
max_iters = 1000
weight_decay = 0.1
beta1 = 0.9
beta2 = 0.95
grad_clip = 1.0            # 0 disables clipping
warmup_iters = 100
lr_decay_iters = 0         # 0 = max_iters
min_lr = 3e-4
# budget: set max_iters (and so the cosine schedule's length) from compute or from tokens; they replace max_iters
target_flops = 0.0         # >0: FLOPs for the whole run, counted as flops_basis (model.flops_per_token)
flops_basis = 'C_train'    # C_train (6 N_trainable_nonembedding per token) | C_actual (structural, plus per-step work)
tokens_per_param = 0.0     # >0: tokens per trainable non-embedding parameter
# time to a target loss, between evals: near it, the first target_eval_iters of eval's fixed val batches are
# evaluated every target_eval_interval steps, and the first crossing is logged as target_reached
target_loss = 0.0          # >0: the val loss (nats/token) to time
target_eval_interval = 10
target_eval_iters = 4
# faults
max_bad_steps = 5          # consecutive non-finite steps (skipped) before the run stops
# system
device = 'auto'            # auto | cpu | cuda | cuda:1 | mps
dtype = 'auto'             # auto (bf16 on cuda, fp32 elsewhere) | float32 | bfloat16 | float16
compile = 'auto'           # auto (on for cuda, where it pays; off on cpu and mps) | True | False
seed = 1337
_model_keys = [f.name for f in fields(GPTConfig) if f.name not in ('vocab_size',)]
globals().update({k: v for k, v in asdict(GPTConfig()).items() if k in _model_keys and k not in globals()})
config_keys = [k for k, v in globals().items() if not k.startswith('_') and isinstance(v, (int, float, bool, str, list))]
exit_on_user_error()  # bad input: one line, exit 2, no traceback
_defaults = {k: globals()[k] for k in config_keys}
config = configure(_defaults, sys.argv[1:], dict(types_of(GPTConfig), compile=(bool, str)))  # files, then --key=value
globals().update(config)
# -----------------------------------------------------------------------------

# validate what the model cannot check itself, before anything is started or written
for _k in ('eval_interval', 'log_interval', 'eval_iters', 'batch_size', 'block_size', 'gradient_accumulation_steps',
           'max_bad_steps', 'target_eval_interval', 'target_eval_iters'):
    if globals()[_k] < 1:
        raise ConfigError(f'{_k}={globals()[_k]} must be at least 1')
for _k in ('max_iters', 'warmup_iters', 'lr_decay_iters', 'weight_decay', 'grad_clip', 'min_lr', 'target_flops',
           'tokens_per_param', 'target_loss'):
    if globals()[_k] < 0:
        raise ConfigError(f'{_k}={globals()[_k]} must not be negative')
if not learning_rate > 0:
    raise ConfigError(f'learning_rate={learning_rate} must be positive')
if target_flops and tokens_per_param:
    raise ConfigError(f'target_flops={target_flops} and tokens_per_param={tokens_per_param} both set the budget; '
                      f'give one of them (the other 0)')
if flops_basis not in ('C_train', 'C_actual'):
    raise ConfigError(f"flops_basis='{flops_basis}' must be 'C_train' or 'C_actual'")
if init_from not in ('scratch', 'resume'):
    raise ConfigError(f"init_from='{init_from}' must be 'scratch' or 'resume'")
if compile not in ('auto', True, False):
    raise ConfigError(f"compile={compile!r} must be auto, True or False")
if dtype not in ('auto', 'float32', 'bfloat16', 'float16'):
    raise ConfigError(f"dtype='{dtype}' must be one of auto, float32, bfloat16, float16")
if optimizer not in ('adamw', 'muon'):
    raise ConfigError(f"optimizer='{optimizer}' must be 'adamw' or 'muon'")
if wandb_log:
    try:
        import wandb
    except ImportError:
        raise ConfigError('wandb_log=True but wandb is not installed: pip install -r requirements-wandb.txt, '
                          'or drop --wandb_log=True') from None
if not out_dir:
    raise ConfigError("out_dir is empty: give the run's folder, e.g. --out_dir=out")
if os.path.exists(out_dir) and not os.path.isdir(out_dir):
    raise ConfigError(f"out_dir='{out_dir}' is a file, not a folder: give the run's folder")

# distributed setup: torchrun sets RANK / WORLD_SIZE / LOCAL_RANK
ddp = int(os.environ.get('RANK', -1)) != -1
device = pick_device(device)
if ddp:
    rank, local_rank, world_size = int(os.environ['RANK']), int(os.environ['LOCAL_RANK']), int(os.environ['WORLD_SIZE'])
    if device.startswith('cuda'):
        device = f'cuda:{local_rank}'
        torch.cuda.set_device(device)
    if gradient_accumulation_steps % world_size:
        raise ConfigError(f'gradient_accumulation_steps={gradient_accumulation_steps} is not divisible by the '
                          f'{world_size} processes; make it a multiple of {world_size}')
    # imported before the group exists: its functions take `group=group.WORLD` as a default argument, which, bound
    # after init (DDP imports it), would keep the group alive past the end of training (see the end of this file)
    import torch.distributed.nn  # noqa: F401
    dist.init_process_group(backend='nccl' if device.startswith('cuda') else 'gloo')
else:
    rank, local_rank, world_size = 0, 0, 1
master = rank == 0
micro_steps = gradient_accumulation_steps // world_size  # per process
device_type = 'cuda' if device.startswith('cuda') else device
if compile == 'auto':  # CPU compiles cost minutes and gain little at this repo's CPU shapes
    compile = device_type == 'cuda'
if dtype == 'auto':
    dtype = 'bfloat16' if device_type == 'cuda' and torch.cuda.is_bf16_supported() else 'float32'
ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]
autocast = nullcontext() if dtype == 'float32' else torch.autocast(device_type=device_type, dtype=ptdtype)
tokens_per_iter = gradient_accumulation_steps * batch_size * block_size
torch.manual_seed(seed + rank)  # dropout differs per rank; the data sampler below does not
random.seed(seed + rank)
np.random.seed(seed + rank)
if device_type == 'cuda':
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

# -----------------------------------------------------------------------------
# data: token files memmapped, random windows drawn by one generator shared by all ranks

data_dir = Path(data_dir) if data_dir else DATA_ROOT / dataset
if not data_dir.is_dir():
    raise ConfigError(f"dataset '{dataset}' has no folder {data_dir}; datasets: "
                      f"{', '.join(sorted(p.name for p in DATA_ROOT.iterdir() if (p / 'prepare.py').exists()))}")
if dataset in ('pystdlib_char', 'pystdlib_bpe') and data_dir == DATA_ROOT / dataset and not (data_dir / 'meta.json').exists():
    if master:  # the embedded corpora are prepared on first use (offline, seconds)
        importlib.import_module(f'data.{dataset}.prepare').prepare()
    if ddp:
        dist.barrier()
meta = load_meta(data_dir)
tokenizer = load_tokenizer(data_dir)
token_bytes = torch.tensor(np.asarray(tokenizer.token_bytes), dtype=torch.float64)
splits = {s: [np.memmap(data_dir / f, dtype=np.dtype(meta['dtype']), mode='r') for f in meta[s]] for s in ('train', 'val')}
for _s, _arrays in splits.items():
    if max(len(a) for a in _arrays) <= block_size + 1:
        raise ConfigError(f'block_size={block_size} is longer than the {_s} split of {dataset}; lower it')


def draw_windows(arrays, count, gen):
    """(count,) random window starts, as (file index, offset) pairs, over the files taken as one stream."""
    sizes = torch.tensor([max(len(a) - block_size - 1, 0) for a in arrays], dtype=torch.float64)
    which = torch.multinomial(sizes, count, replacement=True, generator=gen) if len(arrays) > 1 \
        else torch.zeros(count, dtype=torch.long)
    offsets = (torch.rand(count, generator=gen, dtype=torch.float64) * sizes[which]).long()
    return list(zip(which.tolist(), offsets.tolist()))


def make_batch(arrays, windows):
    x = torch.stack([torch.from_numpy(arrays[f][o:o + block_size].astype(np.int64)) for f, o in windows])
    y = torch.stack([torch.from_numpy(arrays[f][o + 1:o + 1 + block_size].astype(np.int64)) for f, o in windows])
    if device_type == 'cuda':
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.to(device), y.to(device)


def train_batches(gen):
    """The micro-batches of this process for one step. The whole global batch is drawn (the same on every
    rank), then rank r takes micro-batches r, r + W, ...: one process with accumulation 4 and two processes
    with accumulation 2 each see exactly the same data."""
    windows = draw_windows(splits['train'], gradient_accumulation_steps * batch_size, gen)
    micro = [windows[i * batch_size:(i + 1) * batch_size] for i in range(gradient_accumulation_steps)]
    return [make_batch(splits['train'], w) for w in micro[rank::world_size]]


# -----------------------------------------------------------------------------
# model, optimizer, state

model_args = {k: globals()[k] for k in _model_keys}
_resume_fixed = ('dataset', 'batch_size', 'gradient_accumulation_steps', 'optimizer', 'weight_decay', 'beta1', 'beta2')
model_args.update(vocab_size=meta['vocab_size'], block_size=block_size)
iter_num, tokens_seen, best_val_loss, checkpoint, seconds_before = 0, 0, float('inf'), None, 0.0
target_state = dict(done=False, vals=[])  # target_loss: reached yet, and (iter, val loss) of the evals so far
ckpt_path = os.path.join(out_dir, 'ckpt.pt')
if init_from == 'resume':
    checkpoint = load_checkpoint(ckpt_path)
    # every model key, and the settings the data order and optimizer state depend on, must be the checkpoint's
    # (optimizer.load_state_dict would silently bring back its weight decay and betas); the rest may change
    _then = dict(asdict(GPTConfig()), **checkpoint['model_args'])
    _then.update({k: checkpoint['config'].get(k, _defaults[k]) for k in _resume_fixed})  # older: default
    for _k, _v in dict(model_args, **{k: globals()[k] for k in _resume_fixed}).items():
        if _then[_k] != _v:
            raise CheckpointError(f"{ckpt_path} was trained with {_k}={_then[_k]!r}, not {_v!r}: resume with the "
                                  f"same {_k} (repeat the run's config file and flags), or start a new run in "
                                  f"another out_dir")
model = GPT(config_from_dict(model_args))
if checkpoint is not None:
    load_model_state(model, checkpoint['model'], ckpt_path)
model.to(device)
if master:
    print('\n'.join(filter(None, [model.rank_report(), model.param_report()])))
counts, flops = model.param_counts(), model.flops_per_token()
repeats = step_repeats(gradient_accumulation_steps, world_size, bool(compile))  # of flops['step'] in one step
if target_flops or tokens_per_param:
    max_iters = config['max_iters'] = iters_for_budget(flops, counts['trainable_nonembedding'], tokens_per_iter,
                                                       repeats, target_flops, flops_basis, tokens_per_param)
    if master:
        print(f'max_iters = {max_iters:,} from ' + (f'target_flops={target_flops:.4g} ({flops_basis})' if target_flops
              else f"tokens_per_param={tokens_per_param:g} x {counts['trainable_nonembedding']:,} parameters"))

groups = model.optim_groups(weight_decay)
muon_groups = []
if optimizer == 'muon':
    # Muon (Jordan et al. 2024) orthogonalises the update of a matrix: the 2-D trainable matrices of the blocks (dense
    # weights, low-rank and LoRA factors). Block-diagonal weights (3-D), vectors (norm gains, Fastfood diagonals,
    # basis / intrinsic coefficients), the embeddings and the head stay with AdamW, as in nanochat.
    matrices = {id(p) for p in model.h.parameters() if p.requires_grad and p.dim() == 2}
    # model.py's lr multipliers size Adam's steps; Muon's orthogonalised step has its own scale: muon_lr for all
    muon_groups = [dict(params=[p for p in g['params'] if id(p) in matrices], lr_mult=muon_lr / learning_rate)
                   for g in groups]
    groups = [dict(g, params=[p for p in g['params'] if id(p) not in matrices]) for g in groups]
    groups, muon_groups = [g for g in groups if g['params']], [g for g in muon_groups if g['params']]
use_fused = device_type == 'cuda'
optimizers = [torch.optim.AdamW(groups, lr=learning_rate, betas=(beta1, beta2), fused=use_fused,
                               foreach=not use_fused)]  # fused=False alone means the per-tensor loop
if muon_groups:  # nanochat's Muon: Nesterov, no weight decay, lr scaled by sqrt(max(1, rows / cols)) ('original')
    optimizers.append(torch.optim.Muon(muon_groups, lr=muon_lr, momentum=muon_momentum, nesterov=True,
                                       weight_decay=0.0, adjust_lr_fn='original'))
scaler = torch.amp.GradScaler(device_type, enabled=(dtype == 'float16'))
sampler = torch.Generator().manual_seed(seed)  # the same on every rank: see train_batches
if checkpoint is not None:
    try:
        for opt, key in zip(optimizers, ('optimizer', 'muon')):
            opt.load_state_dict(checkpoint[key])
    except (ValueError, KeyError) as e:
        raise CheckpointError(f'{ckpt_path}: optimizer state does not fit this model ({e})')
    scaler.load_state_dict(checkpoint['scaler'])
    sampler.set_state(checkpoint['sampler'])
    iter_num, tokens_seen, best_val_loss = checkpoint['iter_num'], checkpoint['tokens'], checkpoint['best_val_loss']
    target_state = checkpoint.get('target_state', target_state)
    seconds_before = checkpoint.get('seconds', 0.0)  # training seconds up to the checkpoint (older ones: unknown, 0)
    rng = checkpoint['rng']
    if len(rng['torch']) != world_size and master:
        # the data sampler and the parameters do not depend on the number of processes; only dropout's RNGs do
        print(f"resuming a run of {len(rng['torch'])} processes on {world_size}: the same data and updates, but "
              f"dropout draws differ from an uninterrupted run", flush=True)
    if rank < len(rng['torch']):  # a process the checkpoint has no state for keeps its fresh seed
        torch.set_rng_state(rng['torch'][rank])
        np.random.set_state(('MT19937', rng['numpy'][rank].numpy().astype(np.uint32), *rng['numpy_pos'][rank]))
        random.setstate((rng['python'][rank][0], tuple(rng['python'][rank][1]), None))
        if device_type == 'cuda' and rng['cuda'][rank] is not None:
            torch.cuda.set_rng_state(rng['cuda'][rank])
    checkpoint = None  # free memory

raw_model = model
trainable = [p for p in raw_model.parameters() if p.requires_grad]  # for the gradient norm and clipping, every step
if compile:
    if master:
        print('compiling the model...')
    model = torch.compile(model)
if ddp:
    # frozen buffers are identical on every rank by construction: no need to broadcast them each step
    model = DDP(model, device_ids=[local_rank] if device_type == 'cuda' else None, forward_sync_buffers=False)


def get_lr(it):
    """Linear warmup, then cosine decay to min_lr at lr_decay_iters."""
    decay_iters = lr_decay_iters or max_iters
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / max(1, decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)


@torch.no_grad()
def evaluate(val_batches=None):
    """Mean loss over fixed batches (the same every eval), in nats/token, and val bits per byte. val_batches: the val
    split only, on the first val_batches of those batches (the cheap check near target_loss)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1)  # fixed: evals are comparable across iterations
    out = {}
    for split in ('train', 'val'):
        windows = draw_windows(splits[split], eval_iters * batch_size, gen)
        if val_batches is not None:
            if split == 'train':
                continue
            windows = windows[:val_batches * batch_size]
        windows = windows[rank::world_size]
        nats = torch.zeros(3, dtype=torch.float64, device=device)  # sum of nats, tokens, bytes
        for i in range(0, len(windows), batch_size):
            x, y = make_batch(splits[split], windows[i:i + batch_size])
            with autocast:
                _, loss = raw_model(x, y, reduction='none')
            nats[0] += loss.double().sum()
            nats[1] += y.numel()
            nats[2] += token_bytes[y.cpu()].sum().item()
        if ddp:
            dist.all_reduce(nats)
        out[split] = (nats[0] / nats[1]).item()
        if split == 'val' and nats[2] > 0:
            out['val_bpb'] = (nats[0] / (math.log(2) * nats[2])).item()
    model.train()
    return out


def gather(obj):
    """A list holding obj from every rank (only rank 0 keeps it)."""
    if not ddp:
        return [obj]
    objs = [None] * world_size
    dist.all_gather_object(objs, obj)
    return objs


def rng_states():
    """Every RNG the next step depends on, of every rank, as tensors and plain lists (weights_only-safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    mine = dict(torch=torch.get_rng_state(), numpy=torch.from_numpy(np_state[1].astype(np.int64)),
                numpy_pos=[int(np_state[2]), int(np_state[3]), float(np_state[4])],
                python=[py_state[0], list(py_state[1])],
                cuda=torch.cuda.get_rng_state() if device_type == 'cuda' else None)
    everyone = gather(mine)
    return {k: [s[k] for s in everyone] for k in mine}


def save(path):
    rng = rng_states()  # collective: every rank takes part
    if master:
        save_checkpoint(dict(model=raw_model.state_dict(), **dict(zip(('optimizer', 'muon'),
                                                                   (o.state_dict() for o in optimizers))),
                             scaler=scaler.state_dict(), sampler=sampler.get_state(), rng=rng,
                             iter_num=iter_num, tokens=tokens_seen, best_val_loss=best_val_loss,
                             target_state=target_state, seconds=time.time() - t_start,
                             model_args=model_args, config=config), path)


def params_in_sync():
    """Largest difference between rank 0's and any other rank's per-tensor checksums (float64 sums of every parameter):
    0.0 when DDP keeps the replicas identical, as it must. Cheap: one number per tensor crosses the wire."""
    if not ddp:
        return 0.0
    sums = torch.stack([p.detach().double().sum() for p in raw_model.parameters()])
    ref = sums.clone()
    dist.broadcast(ref, 0)
    diff = (sums - ref).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return diff.item()


def log(record):
    if master:
        with open(os.path.join(out_dir, 'log.jsonl'), 'a') as f:
            f.write(json.dumps(record) + '\n')
        if wandb_run is not None:
            wandb_run.log({k: v for k, v in record.items() if v is not None}, step=record['iter'])


# -----------------------------------------------------------------------------
# output folder and log

if master:
    make_dir(out_dir, '--out_dir')  # an unwritable out_dir fails here, before anything is written
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump(dict(config=config, model_args=model_args, params=counts, flops_per_token=flops,
                       world_size=world_size, device=device, dtype=dtype), f, indent=2)
    log_path = os.path.join(out_dir, 'log.jsonl')
    if init_from == 'resume' and os.path.exists(log_path):
        # drop what the interrupted run logged after its checkpoint (and a last line a kill cut short): the resumed
        # run logs it again
        kept = [r for r in read_jsonl(log_path) if r['iter'] < iter_num]
        with open(log_path + '.tmp', 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in kept)
        os.replace(log_path + '.tmp', log_path)
    elif init_from == 'scratch' and os.path.exists(log_path):
        os.remove(log_path)
wandb_run = None
if wandb_log and master:  # files go to $WANDB_DIR if set, else out_dir; WANDB_MODE=offline keeps them local
    wandb_run = wandb.init(project=wandb_project, name=wandb_run_name or None, config=config,
                           dir=os.environ.get('WANDB_DIR') or out_dir)

stop_signal = []
if not eval_only:
    def _on_signal(signum, frame):
        stop_signal.append(signum)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

gpu_name = torch.cuda.get_device_name() if device_type == 'cuda' else ''
peak = peak_flops(gpu_name) if dtype != 'float32' else None
if master:
    print(f'tokens per iteration: {tokens_per_iter:,} ({world_size} x {micro_steps} x {batch_size} x {block_size}) '
          f'| device {device} {gpu_name} | dtype {dtype}')


def compute_at(iters, tokens):
    """Cumulative C_train, C_actual (with the per-step work, `repeats` times a step) and C_frozen_2_3 after iters
    steps."""
    return dict(C_train=flops['C_train'] * tokens,
                C_actual=flops['C_actual'] * tokens + flops['step'] * repeats * iters,
                C_frozen_2_3=flops['C_frozen_2_3'] * tokens)


def check_target(val, full):
    """After an eval (full) or a cheap check: log target_reached the first time val <= target_loss; else remember a full
    eval's val loss (a resumed run repeats the eval of its checkpoint's iteration: once) for near_target."""
    if not target_loss or target_state['done']:
        return
    if val <= target_loss:
        target_state['done'] = True
        log(dict(iter=iter_num, tokens=tokens_seen, target_reached=target_loss, target_val_loss=val,
                 target_eval_batches=eval_iters if full else min(target_eval_iters, eval_iters),
                 seconds=time.time() - t_start, **compute_at(iter_num, tokens_seen)))
        if master:
            print(f'iter {iter_num}: val loss {val:.4f} reached target_loss {target_loss}', flush=True)
    elif full and (not target_state['vals'] or target_state['vals'][-1][0] < iter_num):
        target_state['vals'].append((iter_num, val))


def near_target():
    """Cheap checks run while the last eval's gap to the target is within max(0.05 nats, twice its last drop)."""
    vals = [v for _, v in target_state['vals']]
    drop = vals[-2] - vals[-1] if len(vals) > 1 else 0.0
    return bool(vals) and vals[-1] - target_loss <= max(0.05, 2 * drop)


# -----------------------------------------------------------------------------
# the training loop

t_start = time.time() - seconds_before  # a resumed run's clock goes on from its checkpoint's: logged seconds never drop
t_last, iters_since, bad_steps, exit_code = time.time(), 0, 0, 0
memory = None  # the model's own bytes, measured once after the first step
while True:
    lr = get_lr(iter_num)
    for opt in optimizers:
        for g in opt.param_groups:
            g['lr'] = lr * g['lr_mult']
            if 'momentum' in g:  # Muon's momentum warms up from 0.85 over 300 steps (nanochat)
                g['momentum'] = muon_momentum + (0.85 - muon_momentum) * max(0.0, 1 - iter_num / 300)

    # a signal on any rank stops every rank at this step boundary, with a checkpoint
    stop = torch.tensor([len(stop_signal)], dtype=torch.int32, device=device)  # on device: nccl needs it there
    if ddp:
        dist.all_reduce(stop)
    if stop.item():
        save(ckpt_path)
        if master:
            print(f'stopped by signal at iter {iter_num}; checkpoint saved to {ckpt_path}. Resume with:\n'
                  f'  python train.py {" ".join(sys.argv[1:])} --init_from=resume', flush=True)
        break

    if iter_num % eval_interval == 0 or iter_num == max_iters:
        losses = evaluate()
        sync = params_in_sync()
        elapsed = time.time() - t_start
        if master:
            bpb = f", val bpb {losses['val_bpb']:.4f}" if 'val_bpb' in losses else ''
            print(f"iter {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}{bpb}", flush=True)
        log(dict(iter=iter_num, tokens=tokens_seen, train_loss=losses['train'], val_loss=losses['val'],
                 val_bpb=losses.get('val_bpb'), lr=lr, **compute_at(iter_num, tokens_seen),
                 peak_mem=torch.cuda.max_memory_allocated() if device_type == 'cuda' else None,
                 seconds=elapsed, ddp_checksum_diff=sync))
        check_target(losses['val'], full=True)
        if iter_num > 0 and not eval_only:
            if losses['val'] < best_val_loss:
                best_val_loss = losses['val']
                save(os.path.join(out_dir, 'best.pt'))
            save(ckpt_path)
    elif target_loss and not target_state['done'] and iter_num % target_eval_interval == 0 and near_target():
        check_target(evaluate(val_batches=min(target_eval_iters, eval_iters))['val'], full=False)
    if iter_num >= max_iters or eval_only:
        break

    # forward, backward, update: gradients are synchronised on the last micro-step only
    batches = train_batches(sampler)
    loss_sum = 0.0
    for micro, (x, y) in enumerate(batches):
        if ddp:
            model.require_backward_grad_sync = micro == micro_steps - 1
        raw_model.last_micro_step(micro == micro_steps - 1)     # random bases: one projection of grad α per step
        with autocast:
            _, loss = model(x, y)
            loss = loss / micro_steps
        loss_sum += loss.item()
        scaler.scale(loss).backward()
    if ddp:  # the logged loss is the mean over all ranks' micro-batches; every rank takes the same decision
        t = torch.tensor([loss_sum], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        loss_sum = t.item() / world_size
    for opt in optimizers:
        scaler.unscale_(opt)
    grads = [p.grad for p in trainable if p.grad is not None]
    grad_norm = torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())
    if math.isfinite(grad_norm.item()) and math.isfinite(loss_sum):
        if grad_clip > 0:
            torch.nn.utils.clip_grads_with_norm_(trainable, grad_clip, grad_norm)
        for opt in optimizers:
            scaler.step(opt)
        bad_steps = 0
    else:  # a non-finite loss or gradient: skip the update, keep the parameters
        bad_steps += 1
        if master:
            print(f'iter {iter_num}: non-finite loss {loss_sum} or grad norm {grad_norm.item()}: step skipped '
                  f'({bad_steps} in a row, max_bad_steps={max_bad_steps})', flush=True)
        log(dict(iter=iter_num, skipped=True, loss=loss_sum))
    scaler.update()
    if memory is None:  # from the tensors, not the RSS: weights, grads, optimizer state, saved activations per token
        with autocast:
            memory = raw_model.memory_report(optimizers, x)
        log(dict(iter=iter_num, **memory))
        if master:
            print('memory: ' + ', '.join(f'{k} {v:,.0f}' for k, v in memory.items()), flush=True)
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    if bad_steps >= max_bad_steps:
        if master:
            print(f'error: {bad_steps} non-finite steps in a row at iter {iter_num}; stopping. The last good '
                  f'checkpoint is {ckpt_path}', file=sys.stderr, flush=True)
        exit_code = 3
        break

    step = iter_num  # the step just taken, from the parameters of iteration `step`
    iter_num += 1
    tokens_seen += tokens_per_iter
    iters_since += 1
    if iter_num % log_interval == 0 and bad_steps == 0:
        dt = (time.time() - t_last) / iters_since
        t_last, iters_since = time.time(), 0
        tok_s = tokens_per_iter / dt
        eta = (max_iters - iter_num) * dt
        mfu = f', mfu {flops["C_actual"] * tok_s / (peak * world_size) * 100:.1f}%' if peak else ''
        log(dict(iter=step, loss=loss_sum, lr=lr, tokens_per_sec=tok_s, ms_per_iter=dt * 1000))
        if master:
            print(f'iter {step}: loss {loss_sum:.4f}, {dt * 1000:.1f} ms/iter, {tok_s:,.0f} tok/s{mfu}, '
                  f'eta {eta / 60:.1f} min', flush=True)

if master and not stop_signal and exit_code == 0:
    print(f'done: {iter_num} iters, {tokens_seen:,} tokens, best val loss {best_val_loss:.4f}, '
          f'{time.time() - t_start:.1f} s')
if wandb_run is not None:
    wandb_run.finish(exit_code=exit_code)
if ddp:
    # The backend's worker threads must be gone before Python shuts down: one that frees a collective's tensors
    # later (that takes the GIL) is killed by the finalizing interpreter and aborts the process with `terminate
    # called without an active exception`. destroy_process_group() does not stop them while DDP still holds the
    # group; the group's destructor does, so the last reference to it is dropped here, with the GIL released.
    dist.barrier()  # every rank is past its last collective and rank 0's checkpoint is written
    group = dist.group.WORLD
    dist.destroy_process_group()
    del model
    gc.collect()  # DDP's reference cycles go, with the group references they hold
    del group  # the last one: joins the worker threads
sys.exit(exit_code)
