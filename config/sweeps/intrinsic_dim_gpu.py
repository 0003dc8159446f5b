# The intrinsic dimension of pre-training at the scale of Ghosh's blog post (GPT-2 small, ~1B tokens of FineWeb-Edu,
# as in elephant_gpu.py): bisection over d in log space between 10^2 and 10^7 (85M non-embedding weights) for the
# smallest d closing 90% of the embeddings-only -> dense gap.
#   python sweep.py config/sweeps/intrinsic_dim_gpu.py --dry-run
name = 'intrinsic_dim_gpu'
base = dict(dataset='fineweb_edu', n_layer=12, n_embd=768, n_head=12, block_size=1024, batch_size=32,
            gradient_accumulation_steps=16, max_iters=1907, warmup_iters=100, learning_rate=6e-4, min_lr=6e-5,
            eval_interval=100, eval_iters=40, log_interval=10, compile=True)
mode = 'bisect'
bisect = dict(key='intrinsic_dim', lo=100, hi=10_000_000, probes=8, fraction=0.9, metric='best_val_loss',
              run=dict(linear='intrinsic'),
              low_ref=dict(name='embeddings_only', linear='frozen'),
              high_ref=dict(name='dense', linear='dense'))
seeds = [1337]
