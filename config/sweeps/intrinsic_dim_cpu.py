# The intrinsic dimension of pre-training on 2 CPU cores (Ghosh's question, Li et al. 2018's measure): the
# smallest d at which a model trained only through theta = theta0 + P alpha (alpha of size d, P Fastfood)
# closes 90% of the gap between the embeddings-only baseline and dense, found by bisection over d in log
# space between 10 and 10^5 (the default model has 788k non-embedding weights). Same training as
# elephant_cpu.py (block 64, 600 iterations, one seed). A step costs more once d passes a layer's size (each
# layer's Fastfood transform has length >= d): 0.22 s/iter at d <= 10^4, 0.34 s/iter at d = 10^5 (measured).
# Budget (2-core EPYC, idle): 2 references + 2 ends measured 8.5 min; if 10^5 met the target, 4 probes ~ 10 min
# more. Here it did not (d = 10^5 closes 71%): the answer is the bound d_int90 > 10^5.
#   python sweep.py config/sweeps/intrinsic_dim_cpu.py && python report.py results/intrinsic_dim_cpu
name = 'intrinsic_dim_cpu'
base = dict(block_size=64, max_iters=600, eval_interval=100, eval_iters=10, log_interval=50, warmup_iters=50)
mode = 'bisect'
bisect = dict(key='intrinsic_dim', lo=10, hi=100000, probes=4, fraction=0.9, metric='best_val_loss',
              run=dict(linear='intrinsic'),
              low_ref=dict(name='embeddings_only', linear='frozen'),
              high_ref=dict(name='dense', linear='dense'))
seeds = [1337]
