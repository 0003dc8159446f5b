# Ghosh's "five parameters to fit an elephant" (blog post, docs/variants.md#references) on 2 CPU cores: the default
# GPT (4 layers, 128 wide) on pystdlib_char with a shorter context (block 64, batch 32: 2,048 tokens a step) so that
# three seeds fit, trained from scratch with ever fewer trainable non-embedding parameters. Embeddings and head
# always train (they are not counted, as in the post). Tuned: every run first trains on seed 1337 at three learning
# rates a factor 2 apart (multipliers of learning_rate, model.py's derived per-variant multipliers on top), one more
# point past an edge that wins (x2 or /2, up to three times), and is reported at its best lr; the runs a conclusion
# rests on (dense, the seed-noise yardstick, and the five the elephant claims compare) then train two more seeds at
# that lr, the rest stay at one seed. Each grid is centred on the optimum of an earlier, wider sweep of the same runs
# (x1/4, x1 and x4, extended up to x128; its machine was replaced before it finished): dense wants 8x learning_rate,
# the runs whose loss the embeddings and head set 16-64x.
# elephant_muon_cpu.py adds a Muon column, elephant_more_cpu.py the post's other forms, elephant_long_cpu.py a 4x phase.
# Budget (2-core EPYC, fresh clone, 2026-12-01): 39 runs (27 grid points, 12 seeds, no edge point), 89 min wall at
# --jobs 2 (5,336 s while runs trained), 10,082 s CPU; results in docs/results.md and docs/runs/elephant_cpu/.
#   python sweep.py config/sweeps/elephant_cpu.py && python report.py results/elephant_cpu
name = 'elephant_cpu'
base = dict(block_size=64, max_iters=600, eval_interval=100, eval_iters=10, log_interval=50, warmup_iters=50)
seeds = [1337]
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
lr_grid_max_extend = 3
_three = [1337, 1338, 1339]
_around = lambda m: [m / 2, m, m * 2]  # the grid of a run: its earlier optimum and a factor 2 either side
runs = [
    dict(name='dense', linear='dense', seeds=_three, lr_grid=_around(8)),  # 788k trainable non-embedding
    dict(name='lora', linear='lora', seeds=_three, lr_grid=_around(1)),  # W = W0 + B A, rank 1/4 of break-even
    dict(name='basis_d5', linear='basis', basis_dim=5, seeds=_three, lr_grid=_around(32)),  # W0 + 5 directions
    dict(name='embeddings_only', linear='frozen', seeds=_three, lr_grid=_around(64)),  # every block matrix frozen
] + [dict(name=f'intrinsic_d{d}', linear='intrinsic', intrinsic_dim=d, seeds=_three if d in (5, 1000) else seeds,
          lr_grid=_around(16 if d == 10000 else 32)) for d in (5, 10, 100, 1000, 10000)]  # theta0 + P alpha
target_loss = 2.0          # nats/token on pystdlib_char (ln 218 = 5.38 at init)

# report.py: "gap closed" per seed between these two, and the verdicts. margin: nats within which two runs count
# as alike (about a third of the seed-to-seed spread of dense, 0.04).
gap = ('embeddings_only', 'dense')
_post = 'Ghosh (blog)'
claims = [
    dict(claim='five parameters for the whole model learn nothing beyond the embeddings', source=_post,
         a='intrinsic_d5', b='embeddings_only', holds_if='a=b', margin=0.02),
    dict(claim='five random directions per matrix do little beyond the embeddings ("performed poorly")',
         source=_post, a='basis_d5', b='embeddings_only', holds_if='a=b', margin=0.02),
    dict(claim='a thousand parameters for the whole model do learn ("how far we can get")', source=_post,
         a='intrinsic_d1000', b='embeddings_only', holds_if='a<b'),
    dict(claim='LoRA is better than a random basis', source=_post, a='lora', b='basis_d5', holds_if='a<b'),
]
