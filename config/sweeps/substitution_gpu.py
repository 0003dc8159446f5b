# Armstrong's low-rank substitution study at its scale: 4 layers (one at 8), width 384, TinyStories for one pass
# over a subset (~100M tokens here: 24,576 tokens per step x 4,000 steps). Runs as in substitution_cpu.py; three
# seeds for every run (the study's five baseline seeds spanned 0.09 nats: differences below ~0.05 need several).
#   python data/tinystories/prepare.py && python sweep.py config/sweeps/substitution_gpu.py
from sweep import grid
name = 'substitution_gpu'
base = dict(dataset='tinystories', n_layer=4, n_embd=384, n_head=6, block_size=512, batch_size=48,
            max_iters=4000, warmup_iters=200, learning_rate=1e-3, min_lr=1e-4, eval_interval=250, eval_iters=40,
            log_interval=25, compile=True)
_sa = lambda rank, sched='constant': dict(attn_linear='lowrank', attn_rank=rank, rank_schedule=sched)
_mlp = lambda rank, sched='constant': dict(mlp_linear='lowrank', mlp_rank=rank, rank_schedule=sched)
runs = [
    dict(name='FullSA-FullMLP', family='dense'),
    dict(name='LgSA-FullMLP', family='lowrank_attn', **_sa(1.0)),
    dict(name='FullSA-LgMLP', family='lowrank_mlp', **_mlp(1.0)),
    dict(name='MedSA-FullMLP', family='lowrank_attn', **_sa(0.25)),
    dict(name='FullSA-MedMLP', family='lowrank_mlp', **_mlp(0.25)),
    dict(name='IncSA-FullMLP', family='lowrank_attn', **_sa(0.5, 'increasing')),
    dict(name='DecSA-FullMLP', family='lowrank_attn', **_sa(0.5, 'decreasing')),
    dict(name='FullSA-IncMLP', family='lowrank_mlp', **_mlp(0.5, 'increasing')),
    dict(name='FullSA-DecMLP', family='lowrank_mlp', **_mlp(0.5, 'decreasing')),
    dict(name='MedSA-MedMLP-4L', family='lowrank', linear='lowrank', attn_rank=0.25, mlp_rank=0.25),
    dict(name='MedSA-MedMLP-8L', family='lowrank', linear='lowrank', attn_rank=0.25, mlp_rank=0.25, n_layer=8),
    dict(name='HalfSA-HalfMLP-8L', family='lowrank', linear='lowrank', attn_rank=0.5, mlp_rank=0.5, n_layer=8),
    dict(name='FullSA-FullMLP-8L', family='dense', n_layer=8),
]
seeds = [1337, 1338, 1339]
target_loss = 1.5
