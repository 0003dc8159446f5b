# intrinsic_dim_small_cpu.py's counterpart at GPU scale: intrinsic_dim_gpu.py's tuned bisection (same data, tokens
# and schedule) on a model half as deep and half as wide as GPT-2 small, 6 layers x 384 (6 heads of 64),
# D = 10,616,832 block weights (the `emulated` column of --dry-run), where the bracket should close sooner and
# cheaper: d in log space from 5 to D until hi/lo <= 2, every run tuned on seed 1337 (learning_rate x 1/4, 1, 4, one
# point past an edge that wins), then on seeds 1338 and 1339 at its best lr: each decision on the mean of the three.
# Budget: NOT YET MEASURED (no GPU here). --dry-run: 12 grid points for the references and ends, about 5 probes of
# 3 points and 2 seeds each, 8 seed runs at the references and ends: 45 runs of 1.0B tokens if no lr edge wins.
#   python sweep.py config/sweeps/intrinsic_dim_small_gpu.py --dry-run
include('config/sweeps/intrinsic_dim_gpu.py')
name = 'intrinsic_dim_small_gpu'
base = dict(base, n_layer=6, n_embd=384, n_head=6)
bisect = dict(bisect, hi=10_616_832)
