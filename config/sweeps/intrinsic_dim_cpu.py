# The intrinsic dimension of pre-training on 2 CPU cores (Ghosh's question, Li et al. 2018's measure, issue 15): the
# smallest d at which the default model (4 layers, 128 wide) trained only through theta = theta0 + P alpha (alpha of
# size d, P Fastfood; embeddings and norms train directly) closes 90% of the final-val-loss gap between the
# embeddings-only baseline (every block matrix frozen) and dense, bracketed within a factor of 2 (ratio=2) by
# bisection over d in log space from 5 to D = 786,432, the block matrices' weights (model.py's param_counts: the
# `emulated` column of --dry-run). Tuned: every run (the two references, the two ends, each probe) first trains on seed
# 1337 at learning_rate x 4, 16 and 64 (up to two more points past an edge that wins) and counts at its best lr; the lr
# is chosen on the final val loss, so that is the metric bisected. Each run then trains seeds 1338 and 1339 at its best
# lr, and every decision is made on the mean of the three seeds.
# Same training as elephant_cpu.py (block 64, 600 iterations). A step costs more once d passes a layer's size (each
# layer's Fastfood transform has length >= d): timed for 3 steps one-thread on a loaded machine, d = 5, 10^5 and D
# cost 1.5-1.7x, 2-2.4x and 8-9.6x a dense step, about 0.2, 0.3 and 1.0-1.3 s/iter idle at 2 threads (scaled by the
# untuned sweep's dense 0.12-0.14 s/iter).
# Budget (2-core EPYC, idle): NOT YET MEASURED for the tuned version. Estimate: --dry-run says 12 grid points for the
# references and ends and their 8 seed runs, about 5 probes of 3 points and 2 seeds: 45 runs if no lr edge wins. Runs at
# d <= 65,536 take 1-3 min, the d = D end ~12 min each (3 of them), so about 2 h if d_int90 is near 10^4 and 3-4 h
# if it is past 10^5, where probes and bracket seeds cost 5-12 min a run. (The untuned sweep, 10 .. 10^5, one seed,
# took 8.5 min for its 4 runs and found d_int90 > 10^5: d = 10^5 closed 71% of the gap.) Those timings are from when
# the VM ran ~3x faster than in December (docs/results.md); at today's speed, with basis_cache, about 8-10 CPU-hours.
#   python sweep.py config/sweeps/intrinsic_dim_cpu.py && python report.py results/intrinsic_dim_cpu
# basis_cache=True keeps the projection's random parts as buffers instead of redrawing them every step: the same
# projection (outputs and gradients agree, tests/test_model_basis.py), a quarter less time a step on this CPU.
name = 'intrinsic_dim_cpu'
base = dict(block_size=64, max_iters=600, eval_interval=100, eval_iters=10, log_interval=50, warmup_iters=50,
            basis_cache=True)
mode = 'bisect'
seeds = [1337, 1338, 1339]  # the lr grid on 1337, the others at its best lr: decisions on the mean
# tuned elephant_cpu (docs/results.md): dense's best is x8, embeddings-only's x64, intrinsic d <= 1,000's x32
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
lr_grid = [4, 16, 64]       # multipliers of learning_rate, on the first seed of every run
lr_grid_max_extend = 2      # at most two points past each edge
bisect = dict(key='intrinsic_dim', lo=5, hi=786_432, ratio=2, probes=8, fraction=0.9, metric='final_val_loss',
              run=dict(linear='intrinsic'),
              low_ref=dict(name='embeddings_only', linear='frozen'),
              high_ref=dict(name='dense', linear='dense'))
