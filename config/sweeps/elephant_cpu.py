# Seed 000, "five parameters to fit an elephant", on 2 CPU cores: the same default GPT (4 layers, 128 wide,
# block 128, batch 32, pystdlib_char) trained from scratch with ever fewer trainable non-embedding parameters.
# Embeddings and head always train (they are not counted, as in the blog). One seed, one learning rate (3e-3,
# with model.py's per-variant multipliers): no claim here survives a per-variant lr sweep.
# Budget: dense ran at ~0.3 s/iter on the 2-core box (measured); 9 runs x (600 iters + 7 evals) ~ 35 min.
#   python sweep.py config/sweeps/elephant_cpu.py && python report.py results/elephant_cpu
from sweep import grid
name = 'elephant_cpu'
base = dict(max_iters=600, eval_interval=100, eval_iters=10, log_interval=50, warmup_iters=50)
runs = [
    dict(name='dense', linear='dense'),                     # 788k trainable non-embedding
    dict(name='lora', linear='lora'),                       # W = W0 (frozen random) + B A, rank 1/4 of break-even
    dict(name='basis_d5', linear='basis', basis_dim=5),     # W = W0 + sum of 5 random directions, per matrix
    dict(name='embeddings_only', linear='frozen'),          # every block matrix frozen at its random init
] + [dict(name=f'intrinsic_d{d}', linear='intrinsic', intrinsic_dim=d)   # theta = theta0 + P alpha, d in total
     for d in (5, 10, 100, 1000, 10000)]
seeds = [1337]
target_loss = 2.0          # nats/token on pystdlib_char (ln 218 = 5.38 at init)
