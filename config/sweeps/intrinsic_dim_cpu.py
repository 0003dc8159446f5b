# The intrinsic dimension of pre-training on 2 CPU cores (Ghosh's question, Li et al. 2018's measure, issue 15): the
# smallest d at which the default model (4 layers, 128 wide) trained only through theta = theta0 + P alpha (alpha of
# size d, P Fastfood; embeddings and norms train directly) closes 90% of the final-val-loss gap between the
# embeddings-only baseline (every block matrix frozen) and dense, bracketed within a factor of 2 (ratio=2) by
# bisection over d in log space up to D = 786,432, the block matrices' weights (model.py's param_counts: the
# `emulated` column of --dry-run). Tuned: every run (the two references, the two ends, each probe) first trains on seed
# 1337 at learning_rate x 8, 16 and 32 (up to two more points past an edge that wins) and counts at its best lr; the lr
# is chosen on the final val loss, so that is the metric bisected. Each run then trains seeds 1338 and 1339 at its best
# lr, and every decision is made on the mean of the three seeds.
# Same training as elephant_cpu.py (block 64, 600 iterations). A step costs more once d passes a layer's size (each
# layer's Fastfood transform has length >= d): timed for 3 steps one-thread on a loaded machine, d = 5, 10^5 and D
# cost 1.5-1.7x, 2-2.4x and 8-9.6x a dense step, about 0.2, 0.3 and 1.0-1.3 s/iter idle at 2 threads (scaled by the
# untuned sweep's dense 0.12-0.14 s/iter).
# Where the search starts: the tuned elephant_cpu runs put d = 10^4 at 56% of the gap on seed 1337 (1.6816 between
# embeddings-only's 1.9436 and dense's 1.4787), and intrinsic_dim_small_cpu found d_int90 at 30-55% of D; so the search
# runs from lo = 65,536 (D/12; the lo end is trained and checked like every probe: if it already closes 90%, the
# result says so) and needs 2 probes to a factor-2 bracket, where lo = 5 would spend 3 more on d that surely miss.
# The lr grid steps by 2 around those runs' optima (dense x8, d = 10^4 x16, d <= 1,000 x32, embeddings-only x64).
# Budget (2-core EPYC, --jobs 2, one thread each), measured 2026-12-02: 37 runs (2 probes, 65,536 < d_int90 <= 121,976),
# 6,667 s wall (about 40 min of it with one core idle while the top end's lr edge points trained alone), 10,747 s CPU.
# A run at d = D took ~850 s, at 121,976 ~190 s, dense ~140 s (the estimate above was ~5-6 CPU-hours, ~3 h wall).
#   python sweep.py config/sweeps/intrinsic_dim_cpu.py && python report.py results/intrinsic_dim_cpu
# basis_cache=True keeps the projection's random parts as buffers instead of redrawing them every step: the same
# projection (outputs and gradients agree, tests/test_model_basis.py), a quarter less time a step on this CPU.
name = 'intrinsic_dim_cpu'
base = dict(block_size=64, max_iters=600, eval_interval=100, eval_iters=10, log_interval=50, warmup_iters=50,
            basis_cache=True)
mode = 'bisect'
seeds = [1337, 1338, 1339]  # the lr grid on 1337, the others at its best lr: decisions on the mean
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
lr_grid = [8, 16, 32]       # multipliers of learning_rate, on the first seed of every run
lr_grid_max_extend = 2      # at most two points past each edge
bisect = dict(key='intrinsic_dim', lo=65_536, hi=786_432, ratio=2, probes=8, fraction=0.9, metric='final_val_loss',
              run=dict(linear='intrinsic'),
              low_ref=dict(name='embeddings_only', linear='frozen'),
              high_ref=dict(name='dense', linear='dense'))
