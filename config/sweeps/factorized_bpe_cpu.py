# ALBERT's factorized embedding (Lan et al. 2020; GPT-Efficio, Gholami & Omar 2023) where it matters: on the BPE
# vocabulary (pystdlib_bpe, 4,096 tokens: python data/pystdlib_bpe/prepare.py) the default GPT's embedding and head
# (2 x 4,096 x 128 = 1.05M) outweigh its 788k non-embedding weights; on the character vocabulary (sharing_cpu.py)
# factorizing saved 2%. Runs: untied (wte V x H, head H x V), tied (one V x H), the tied factorized embedding at
# E = 32 and 64 (V x E, then E x H; the head mirrors it, H -> E -> V, as ALBERT ties them), and the untied factorized
# embedding at E = 32 (the bottleneck on the input side only; the head stays H x V). Elephant's set-up otherwise
# (block 64, 600 steps). Three paired seeds each.
# Tuned (lr grid 4, 8, 16 on the first seed, up to two points past a winning edge, other seeds at the best lr; the
# verdicts in `claims`): measured 2026-12-02 on the 2-core EPYC at --jobs 2: 28 runs, 8,364 s wall over two
# sessions (about 1,600 s of it paused, for CI and a benchmark), 12,574 s CPU.
#   python data/pystdlib_bpe/prepare.py && python sweep.py config/sweeps/factorized_bpe_cpu.py
name = 'factorized_bpe_cpu'
base = dict(dataset='pystdlib_bpe', block_size=64, max_iters=600, eval_interval=100, eval_iters=10, log_interval=50,
            warmup_iters=50)
runs = [dict(name='untied', family='untied'),
        dict(name='tied', tie_embeddings=True, family='tied'),
        dict(name='tied_E32', tie_embeddings=True, embd_dim=32, family='tied_factorized'),
        dict(name='tied_E64', tie_embeddings=True, embd_dim=64, family='tied_factorized'),
        dict(name='untied_E32', embd_dim=32, family='untied_factorized')]
seeds = [1337, 1338, 1339]
target_loss = 4.0
# centred on dense's optimum in the tuned elephant_cpu.py (x8, with x4 and x16 worse on seed 1337)
jobs = 2                    # two train.py at a time, one thread each: 2 cores kept busy through evals and saves
lr_grid = [4, 8, 16]        # multipliers of learning_rate, on each run's first seed (then its seeds at the best)
lr_grid_max_extend = 2      # at most two points past each edge
_efficio = 'GPT-Efficio (Gholami & Omar 2023); ALBERT (Lan et al. 2020)'
claims = [
    dict(claim='a factorized (E = 64) tied embedding keeps the loss', source=_efficio, a='tied_E64', b='tied',
         holds_if='a=b', margin=0.03),
    dict(claim='a factorized (E = 32) input embedding keeps the loss', source=_efficio, a='untied_E32', b='untied',
         holds_if='a=b', margin=0.03),
]
