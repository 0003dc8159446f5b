# Gillis's rank-vs-depth proposal (2025) at its scale, on one 8-GPU node with torchrun (nproc = 8): the nanochat-like
# baseline of depth 20 and width 1024 (8 heads of 128) on FineWeb-Edu (python data/fineweb_edu/prepare.py
# --num_shards 40), 524,288 tokens per step, 2,000 steps (1.05B tokens) per run. The central comparison: a deeper
# low-rank model (40 layers at half the break-even rank, about the d20 budget) against the dense model with the same
# trainable count (model.matched_dense: the nearest depth at width 1024, which is 20 itself); and the proposal's four
# layerwise schedules at depth 20 (full break-even rank in layer 0 down to 1/8 of it in layer 19: linear, step,
# exponential, neg_quadratic), each against the dense d20-deep model whose width gives the same trainable count (heads
# of 128 kept even: width in steps of 16). Metrics: perplexity, time to val loss 3.5 (an eval every 50 steps), trainable
# parameters, the model's own bytes (memory_report after step 1). A learning-rate sweep is not included.
# GPU-hour estimate, from FLOPs (an estimate, not a measurement): the dry run's total C_actual is 1.43e19 FLOPs over
# 9 runs (9.4B tokens) with its placeholder vocabulary of 256; FineWeb-Edu's default 32,768-token BPE adds
# 6 (V - 256) H = 2.0e8 FLOPs per token of head, 1.9e18 in all: 1.62e19 FLOPs. At 40% MFU of an H100-class GPU's
# dense bf16 peak (989 TFLOP/s), 1.62e19 / (0.4 * 989e12) / 3600 = 11.4 GPU-hours: about 1.4 hours on one 8-GPU node.
#   python sweep.py config/sweeps/rank_match_gpu.py
from model import matched_dense, trainable_nonembedding
name = 'rank_match_gpu'
base = dict(dataset='fineweb_edu', n_layer=20, n_embd=1024, n_head=8, block_size=2048, batch_size=16,
            gradient_accumulation_steps=16, max_iters=2000, warmup_iters=100, learning_rate=6e-4, min_lr=6e-5,
            eval_interval=50, eval_iters=20, log_interval=10, compile=True)
_shape = dict(n_layer=20, n_embd=1024, n_head=8)
runs = [dict(name='dense_d20', family='dense')]
_deep = dict(n_layer=40, attn_rank=0.5, mlp_rank=0.5)
runs.append(dict(name='lowrank_d40_r0.5', linear='lowrank', family='lowrank', **_deep))
_L = matched_dense(trainable_nonembedding(**{**_shape, **_deep}, linear='lowrank'), 'n_layer', **_shape)['n_layer']
if _L != 20:
    runs.append(dict(name=f'dense_d{_L}', n_layer=_L, family='dense_matched'))
for _s in ('linear', 'step', 'exponential', 'neg_quadratic'):
    _sched = dict(attn_rank=1.0, mlp_rank=1.0, rank_schedule=_s)
    runs.append(dict(name=f'lowrank_d20_{_s}', linear='lowrank', family='schedule', **_sched))
    _w = matched_dense(trainable_nonembedding(**_shape, **_sched, linear='lowrank'), 'n_embd', **_shape)['n_embd']
    if not any(r['name'] == f'dense_d20_W{_w}' for r in runs):
        runs.append(dict(name=f'dense_d20_W{_w}', n_embd=_w, family='dense_matched'))
seeds = [1337]
target_loss = 3.5
nproc = 8
jobs = 1
