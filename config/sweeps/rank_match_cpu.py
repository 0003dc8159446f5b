# Gillis's central comparison (rank-vs-depth proposal, 2025) on 2 CPU cores: a deeper low-rank model against a dense
# model with the same number of trainable non-embedding parameters (not against the factorised shallow model). The
# default GPT (width 128, 4 layers) on pystdlib_char, block 64 as in elephant_cpu.py. Low-rank models: 8 layers at
# half the break-even rank, 16 layers at a quarter (both about the 4-layer dense budget), and the proposal's four
# layerwise schedules at 8 layers (full break-even rank in the first layer down to 1/8 of it in the last). Each gets
# its dense twin, picked by model.matched_dense: the 4-layer dense model whose width gives the nearest trainable
# count, and (8L rank 0.5) the dense depth with the nearest count at width 128. Metrics (report.py): perplexity
# exp(val loss), time to val loss 2.0 (an eval every 25 steps), trainable parameters, and the model's own bytes
# (parameters + gradients + AdamW state, activations saved per token: train.py's memory_report after step 1).
# Three paired seeds for the 8-layer pair and its twin, one for the rest.
# Tuned (lr grid 4, 8, 16 on the first seed for the dense models, 0.5, 1, 2 for the low-rank ones, up to two points
# past a winning edge, other seeds at the best lr; the verdicts in `claims`): measured 2026-12-01/02 on the 2-core
# EPYC at --jobs 2, 41 runs (every low-rank run needed its x0.25 point), 7,646 s wall (2.1 h, over two sessions),
# 14,641 s CPU (4.1 CPU-hours; estimated ~2.2: an 8-layer low-rank run took 340-440 s, a 16-layer one 610-650 s,
# a 4-layer dense one 210-300 s, one thread each, two at a time). The low-rank grid sits a factor 8
# below dense's: in the tuned substitution_cpu.py the models with both sublayers low-rank were best at x1 or x2
# (grid 4, 8, 16 extended down), the MLP at rank 1 or 0.1 of break-even at x1 (x0.5 worse), and in rank_depth_cpu.py
# the 4- and 8-layer low-rank models at x1.
#   python sweep.py config/sweeps/rank_match_cpu.py && python report.py results/rank_match_cpu
from model import matched_dense, trainable_nonembedding
name = 'rank_match_cpu'
base = dict(block_size=64, max_iters=500, eval_interval=25, eval_iters=10, log_interval=50, warmup_iters=50)
_shape = dict(n_layer=4, n_embd=128, n_head=4)
_three = [1337, 1338, 1339]
_low = [dict(name='lowrank_L8_r0.5', n_layer=8, attn_rank=0.5, mlp_rank=0.5, seeds=_three),
        dict(name='lowrank_L16_r0.25', n_layer=16, attn_rank=0.25, mlp_rank=0.25)]
_low += [dict(name=f'lowrank_L8_{s}', n_layer=8, attn_rank=1.0, mlp_rank=1.0, rank_schedule=s)
         for s in ('linear', 'step', 'exponential', 'neg_quadratic')]
runs = [dict(name='dense_L4', family='dense', seeds=_three)]   # also the width-matched twin of 128
_twin = {}                                                      # each low-rank run's dense twin of nearest width
for _r in _low:
    _n = trainable_nonembedding(**{**_shape, **{k: v for k, v in _r.items() if k not in ('name', 'seeds')}},
                                linear='lowrank')
    runs.append(dict(_r, linear='lowrank', family='lowrank', lr_grid=[0.5, 1, 2]))  # low-rank wants less than dense
    _w = matched_dense(_n, 'n_embd', **_shape)['n_embd']
    _twin[_r['name']] = 'dense_L4' if _w == 128 else f'dense_W{_w}'
    if _w != 128 and not any(r['name'] == f'dense_W{_w}' for r in runs):
        runs.append(dict(name=f'dense_W{_w}', n_embd=_w, family='dense_matched', seeds=_r.get('seeds', [1337])))
_L = matched_dense(trainable_nonembedding(**dict(_shape, n_layer=8), linear='lowrank', attn_rank=0.5, mlp_rank=0.5),
                   'n_layer', **_shape)['n_layer']
if _L != 4:   # the depth twin of lowrank_L8_r0.5 (4 layers here: dense_L4)
    runs.append(dict(name=f'dense_L{_L}', n_layer=_L, family='dense_matched', seeds=_three))
seeds = [1337]
target_loss = 2.0
# centred on dense's optimum in the tuned elephant_cpu.py (x8, with x4 and x16 worse on seed 1337)
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
lr_grid = [4, 8, 16]        # multipliers of learning_rate, on each run's first seed (then its seeds at the best)
lr_grid_max_extend = 2      # at most two points past each edge
# lowrank_L8_r0.5's width twin and its depth twin (both dense_L4 here: one claim)
claims = [dict(claim='a deeper low-rank model beats the dense model with as many trainable parameters '
               f'({twin})', source='Gillis (rank-vs-depth proposal)', a='lowrank_L8_r0.5', b=twin, holds_if='a<b')
          for twin in dict.fromkeys([_twin['lowrank_L8_r0.5'], f'dense_L{_L}'])]
