# Parameter sharing (GPT-Efficio, Gholami & Omar 2023; ALBERT, Lan et al. 2020) on 2 CPU cores: the default model
# (block 64, as in elephant_cpu.py) with no sharing, one block shared by all 4 layers, pairs of layers sharing
# (share=2), and 8 layers sharing one block (the same trainable parameters as 4 shared layers, twice the compute).
# Shared parameters count once as trainable, once per use in C_actual. Three paired seeds for every row (dense's
# seed-to-seed spread here is ~0.04 nats, elephant_cpu.py). The untuned sweep (also with the factorized embedding,
# V x 32 then 32 x 128) measured 21 min on the idle 2-core EPYC (~88 s a 4-layer run, 179 s the 8-layer one).
#   python sweep.py config/sweeps/sharing_cpu.py && python report.py results/sharing_cpu
# Tuned: every run first trains on seed 1337 at learning_rate x 4, 8 and 16 (up to two more points past an edge that
# wins) and is reported at its best lr; its other seeds train at that lr only. The budget above is the untuned sweep's;
# the tuned one measured (2026-12-02, 2-core EPYC, --jobs 2, two sessions): 32 runs, 5,747 s wall (600 s of it paused
# for CI), 9,275 s CPU; 4-layer runs 230-290 s each on one thread, 8-layer ones 430-500 s.
# sharing_long_cpu.py adds the 4x phase.
from sweep import grid
name = 'sharing_cpu'
base = dict(block_size=64, max_iters=600, eval_interval=100, eval_iters=10, log_interval=50, warmup_iters=50)
# The factorized embedding (embd_dim=32) rows of the untuned sweep are gone from the tuned one: on the character
# vocabulary it saves 2% of the parameters; factorized_bpe_cpu.py tests it where the embedding matters.
runs = grid(share=['none', 'all', 2])
runs.append(dict(name='share=all-L8', share='all', n_layer=8))
for _r in runs:
    _r['family'] = f"share_{_r['share']}"
    _r['seeds'] = [1337, 1338, 1339]
# ALBERT's ablations: sharing only the attention or only the MLP across all layers (share_what), next to whole-block
# sharing, on the three paired seeds
runs += [dict(name=f'share=all-{w}', share='all', share_what=w, family=f'share_all_{w}', seeds=[1337, 1338, 1339])
         for w in ('attn', 'mlp')]
seeds = [1337]
target_loss = 2.0
# centred on dense's optimum in the tuned elephant_cpu.py (x8, with x4 and x16 worse on seed 1337)
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
lr_grid = [4, 8, 16]        # multipliers of learning_rate, on each run's first seed
lr_grid_max_extend = 2      # at most two points past each edge

_efficio, _albert = 'GPT-Efficio (Gholami & Omar 2023)', 'ALBERT (Lan et al. 2020)'
claims = [
    dict(claim='one block shared by all layers keeps the unshared loss', source=_efficio,
         a='share=all', b='share=none', holds_if='a=b', margin=0.02),
    dict(claim='pairs of layers sharing a block keep the unshared loss', source=_efficio,
         a='share=2', b='share=none', holds_if='a=b', margin=0.02),
    dict(claim='sharing only the attention costs less than sharing only the MLP', source=_albert,
         a='share=all-attn', b='share=all-mlp', holds_if='a<b'),
    dict(claim='a shared block applied 8 times beats it applied 4 times', source=_albert,
         a='share=all-L8', b='share=all', holds_if='a<b'),
]
