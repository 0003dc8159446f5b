# The intrinsic dimension of a smaller model, where the bracket should close (issue 15): intrinsic_dim_cpu.py's
# bisection on a 2-layer, 64-wide GPT (2 heads of 32, as the default model's), D = 98,304 block weights (the
# `emulated` column of --dry-run). Tuned the same way: every run on seed 1337 at learning_rate x 4, 16, 64 (up
# to two more points past an edge that wins), then seeds 1338 and 1339 at its best lr; bisection of d in log space
# from 5 to D until hi/lo <= 2, each decision on the mean of the three seeds. Same training as intrinsic_dim_cpu.py
# (block 64, 600 iterations).
# Budget (2-core EPYC, fresh clones, 2026-12-01): 44 runs, 1,817 s wall at --jobs 2, 3,000 s CPU, in two parts (the
# references and ends on seed 1337, 762 s; then, deciding on the seed means, their seeds and four probes, 1,055 s).
# Bracket 28,566 < d_int90 <= 52,992: docs/results.md.
#   python sweep.py config/sweeps/intrinsic_dim_small_cpu.py && python report.py results/intrinsic_dim_small_cpu
# basis_cache=True keeps the projection's random parts as buffers instead of redrawing them every step: the same
# projection (outputs and gradients agree, tests/test_model_basis.py), a quarter less time a step on this CPU.
name = 'intrinsic_dim_small_cpu'
base = dict(block_size=64, max_iters=600, eval_interval=100, eval_iters=10, log_interval=50, warmup_iters=50,
            n_layer=2, n_embd=64, n_head=2, basis_cache=True)
mode = 'bisect'
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
seeds = [1337, 1338, 1339]  # the lr grid on 1337, the others at its best lr: decisions on the mean
# tuned elephant_cpu (docs/results.md): dense's best is x8, embeddings-only's x64, intrinsic d <= 1,000's x32
lr_grid = [4, 16, 64]       # multipliers of learning_rate, on the first seed of every run
lr_grid_max_extend = 2      # at most two points past each edge
bisect = dict(key='intrinsic_dim', lo=5, hi=98_304, ratio=2, probes=8, fraction=0.9, metric='final_val_loss',
              run=dict(linear='intrinsic'),
              low_ref=dict(name='embeddings_only', linear='frozen'),
              high_ref=dict(name='dense', linear='dense'))
