# intrinsic_dim_small_cpu.py's counterpart at GPU scale: intrinsic_dim_gpu.py's tuned bisection (same data, tokens
# and schedule) on a model half as deep and half as wide as GPT-2 small, 6 layers x 384 (6 heads of 64),
# D = 10,616,832 block weights (the `emulated` column of --dry-run), where the bracket should close sooner and
# cheaper: d in log space from 5 to D until hi/lo <= 2, every run tuned on seed 1337 (learning_rate x 1/4, 1, 4, one
# point past an edge that wins), then on seeds 1338 and 1339 at its best lr: each decision on the mean of the three.
# Budget: NOT YET MEASURED (no GPU here). --dry-run: 12 grid points for the references and ends, about 5 probes of
# 3 points and 2 seeds each, 8 seed runs at the references and ends: 45 runs of 1.0B tokens if no lr edge wins.
#   python sweep.py config/sweeps/intrinsic_dim_small_gpu.py --dry-run
name = 'intrinsic_dim_small_gpu'
base = dict(dataset='fineweb_edu', n_layer=6, n_embd=384, n_head=6, block_size=1024, batch_size=32,
            gradient_accumulation_steps=16, max_iters=1907, warmup_iters=100, learning_rate=6e-4, min_lr=6e-5,
            eval_interval=100, eval_iters=40, log_interval=10, compile=True)
mode = 'bisect'
seeds = [1337, 1338, 1339]  # the lr grid on 1337, the others at its best lr: decisions on the mean
lr_grid = [1/4, 1, 4]
lr_grid_max_extend = 1
bisect = dict(key='intrinsic_dim', lo=5, hi=10_616_832, ratio=2, probes=8, fraction=0.9, metric='final_val_loss',
              run=dict(linear='intrinsic'),
              low_ref=dict(name='embeddings_only', linear='frozen'),
              high_ref=dict(name='dense', linear='dense'))
