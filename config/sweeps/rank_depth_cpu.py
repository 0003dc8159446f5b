# Gillis's rank-vs-depth proposal (2025) on 2 CPU cores, on a narrower model than the default (64 wide, 4 heads,
# block 64) so that its runs fit: rank sweeps for attention and MLP separately (rank as a fraction of the break-even
# rank mn/(m+n); 1.0 holds as many parameters as dense) and depth vs rank at a fixed trainable budget (layers x rank
# fraction = 2). The proposal's named depth schedules are in rank_match_cpu.py (at 8 layers, against dense models of
# as many trainable parameters); the untuned sweep also ran them here at 4 layers.
# Dense and the 4- and 8-layer depth-x-rank runs (the proposal's question: depth at a fixed budget) train on three
# seeds, compared paired by seed in report.py; the rest on one. The untuned sweep (38 runs, with a 6-run lr sweep the
# grid now replaces) measured 21.5 min on the idle 2-core EPYC (~25 s a 4-layer run).
# Tuned: every run first trains on seed 1337 at learning_rate x 4, 8 and 16 (up to two more points past an edge
# that wins) and is reported at its best lr; its other seeds train at that lr only. Tuned budget (measured
# 2026-12-01, --jobs 2): 64 runs, 2,784 s wall (46 min), 5,000 s CPU. rank_depth_long_cpu.py adds the depth verdict
# at 4x dense's compute.
#   python sweep.py config/sweeps/rank_depth_cpu.py && python report.py results/rank_depth_cpu
from sweep import grid
name = 'rank_depth_cpu'
base = dict(n_embd=64, n_head=4, block_size=64, batch_size=32, max_iters=400, eval_interval=100, eval_iters=10,
            log_interval=50, warmup_iters=40)
_fracs = [0.0625, 0.125, 0.25, 0.5, 1.0]
_three = [1337, 1338, 1339]
seeds = [1337]
runs = [dict(name='dense', family='dense', seeds=_three)]
runs += [dict(name=f'attn_rank{r}', attn_linear='lowrank', attn_rank=r, family='attn_rank') for r in _fracs]
runs += [dict(name=f'mlp_rank{r}', mlp_linear='lowrank', mlp_rank=r, family='mlp_rank') for r in _fracs]
runs += [dict(name=f'L{L}_rank{r}', n_layer=L, linear='lowrank', attn_rank=r, mlp_rank=r, family='depth_x_rank',
              seeds=_three if L in (4, 8) else seeds)
         for L, r in ((2, 1.0), (4, 0.5), (8, 0.25), (16, 0.125))]
# the two rows the depth verdict rests on also try x1 and x2: these low-rank models' loss is not unimodal in the lr
# (on 4, 8, 16 and its extensions L8_rank0.25 was best at x1, 0.11 below x4, and L4_rank0.5's x2 lost to its x4)
for _r in runs[-3:-1]:
    _r['lr_grid'] = [1, 2, 4, 8, 16]
target_loss = 2.2
# centred on dense's optimum in the tuned elephant_cpu.py (x8, with x4 and x16 worse on seed 1337)
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
lr_grid = [4, 8, 16]        # multipliers of learning_rate, on each run's first seed
lr_grid_max_extend = 4      # at most four points past each edge (the 8-layer low-rank model wanted x1 of 4, 8, 16)

_gillis = 'Gillis (rank-vs-depth proposal)'
claims = [
    dict(claim='low-rank weights from init cost only a minor loss (< 0.05 nats) against the full-rank model of the '
         'same shape', source=_gillis, a='L4_rank0.5', b='dense', holds_if='a=b', margin=0.05),
    dict(claim='a deeper low-rank model beats a shallower one with as many parameters', source=_gillis,
         a='L8_rank0.25', b='L4_rank0.5', holds_if='a<b'),
]
