# Armstrong's low-rank substitution study at its own scale: 4 layers of width 384 (6 heads of 64; the 8-layer pair
# too), TinyStories (python data/tinystories/prepare.py), the study's ranks as published: Inc/Dec attention
# [5, 20, 50, 100] and reversed, MLP [10, 30, 80, 150] and reversed, "Med" = 0.1 of break-even (19 and 31), "Lg" = the
# break-even rank; attention only, MLP only, both. One epoch was the study's budget; here 2,000 steps of 65,536
# tokens (131M tokens) per run. A single GPU runs each in minutes.
#   python sweep.py config/sweeps/substitution_gpu.py --dry-run
name = 'substitution_gpu'
base = dict(dataset='tinystories', n_layer=4, n_embd=384, n_head=6, block_size=512, batch_size=32,
            gradient_accumulation_steps=4, max_iters=2000, warmup_iters=100, learning_rate=1e-3, min_lr=1e-4,
            eval_interval=100, eval_iters=20, log_interval=10, compile=True)
_attn_inc, _mlp_inc = [5, 20, 50, 100], [10, 30, 80, 150]
_sa = lambda rank: dict(attn_linear='lowrank', attn_rank=rank)
_mlp = lambda rank: dict(mlp_linear='lowrank', mlp_rank=rank)
runs = [
    dict(name='FullSA-FullMLP', family='dense', seeds=[1337, 1338, 1339]),
    dict(name='LgSA-FullMLP', family='lowrank_attn', **_sa(1.0)),
    dict(name='MedSA-FullMLP', family='lowrank_attn', **_sa(0.1)),
    dict(name='IncSA-FullMLP', family='lowrank_attn', **_sa(_attn_inc)),
    dict(name='DecSA-FullMLP', family='lowrank_attn', **_sa(_attn_inc[::-1])),
    dict(name='FullSA-LgMLP', family='lowrank_mlp', **_mlp(1.0)),
    dict(name='FullSA-MedMLP', family='lowrank_mlp', **_mlp(0.1)),
    dict(name='FullSA-IncMLP', family='lowrank_mlp', **_mlp(_mlp_inc)),
    dict(name='FullSA-DecMLP', family='lowrank_mlp', **_mlp(_mlp_inc[::-1])),
    dict(name='LgSA-LgMLP', family='lowrank_both', **_sa(1.0), **_mlp(1.0)),
    dict(name='MedSA-MedMLP-4L', family='lowrank_both', **_sa(0.1), **_mlp(0.1)),
    dict(name='MedSA-MedMLP-8L', family='lowrank_both', n_layer=8, **_sa(0.1), **_mlp(0.1)),
    dict(name='FullSA-FullMLP-8L', family='dense', n_layer=8),
]
seeds = [1337]
target_loss = 1.5
nproc = 1
