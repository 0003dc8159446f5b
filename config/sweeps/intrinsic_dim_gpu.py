# The intrinsic dimension of pre-training at the scale of Ghosh's blog post (GPT-2 small, ~1B tokens of FineWeb-Edu,
# as in elephant_gpu.py), tuned and bracketed as intrinsic_dim_cpu.py: the smallest d closing 90% of the
# final-val-loss gap between embeddings-only and dense, bisected in log space from 5 to D = 84,934,656 (the block
# matrices' weights, the `emulated` column of --dry-run) until hi/lo <= 2; every run on seed 1337 at learning_rate
# x 1/4, 1, 4 (one more point past an edge that wins), counted at its best lr, then seeds 1338 and 1339 at that lr:
# each decision on the mean of the three. A probe's step costs more as d grows past a layer's size (each matrix's
# Fastfood transform has length >= d: up to 2^27 at d = D).
# Budget: NOT YET MEASURED (no GPU here). --dry-run: 12 grid points for the references and ends, about 5 probes of
# 3 points and 2 seeds each, 8 seed runs at the references and ends: 45 runs of 1.0B tokens if no lr edge wins.
#   python sweep.py config/sweeps/intrinsic_dim_gpu.py --dry-run
name = 'intrinsic_dim_gpu'
base = dict(dataset='fineweb_edu', n_layer=12, n_embd=768, n_head=12, block_size=1024, batch_size=32,
            gradient_accumulation_steps=16, max_iters=1907, warmup_iters=100, learning_rate=6e-4, min_lr=6e-5,
            eval_interval=100, eval_iters=40, log_interval=10, compile=True)
mode = 'bisect'
seeds = [1337, 1338, 1339]  # the lr grid on 1337, the others at its best lr: decisions on the mean
lr_grid = [1/4, 1, 4]
lr_grid_max_extend = 1
bisect = dict(key='intrinsic_dim', lo=5, hi=84_934_656, ratio=2, probes=8, fraction=0.9, metric='final_val_loss',
              run=dict(linear='intrinsic'),
              low_ref=dict(name='embeddings_only', linear='frozen'),
              high_ref=dict(name='dense', linear='dense'))
