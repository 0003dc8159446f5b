# LightOn (Chatelain et al. 2021) at their scale (their Tables 1-3): dense XXSmall/XSmall/Small (3/6/12 layers,
# d_model 768, 12 heads) and Medium (24 layers, 1024, 16 heads, lr 3e-4); doped XSmall/Small/Medium (5/11/23 layers,
# frozen MLPs 6x wide); Adaptive Fastfood and block-diagonal MLP (4 blocks) at 12 layers, 1024 wide. Context 1024,
# 80 sequences per step (81,920 tokens), dropout 0.1, no weight decay, cosine decay. They trained 32G tokens of
# French text; FineWeb-Edu here (python data/fineweb_edu/prepare.py --num_shards 300). _scale shortens every
# schedule (1.0 = the paper's 32G tokens, ~5 GPU-days for Medium on 8 H100s; 0.1 is a first look).
#   python sweep.py config/sweeps/lighton_gpu.py --dry-run
from sweep import grid
name = 'lighton_gpu'
_scale = 1.0
_iters = lambda tokens: int(tokens * _scale / 81920)
base = dict(dataset='fineweb_edu', block_size=1024, batch_size=10, gradient_accumulation_steps=8, dropout=0.1,
            learning_rate=5e-4, min_lr=0.0, weight_decay=0.0, grad_clip=1.0, warmup_iters=_iters(409.6e6) or 1,
            lr_decay_iters=_iters(32.8e9), max_iters=_iters(32e9), eval_interval=2000, eval_iters=50, compile=True)
_medium = dict(n_layer=24, n_embd=1024, n_head=16, learning_rate=3e-4, lr_decay_iters=_iters(40.9e9))
runs = [dict(name='dense_xxsmall', n_layer=3, n_embd=768, n_head=12, family='dense'),
        dict(name='dense_xsmall', n_layer=6, n_embd=768, n_head=12, family='dense'),
        dict(name='dense_small', n_layer=12, n_embd=768, n_head=12, family='dense'),
        dict(name='dense_medium', family='dense', **_medium),
        dict(name='doped_xsmall', n_layer=5, n_embd=768, n_head=12, doped=True, family='doped'),
        dict(name='doped_small', n_layer=11, n_embd=768, n_head=12, doped=True, family='doped'),
        dict(name='doped_medium', doped=True, family='doped', **dict(_medium, n_layer=23)),
        dict(name='fastfood', n_layer=12, n_embd=1024, n_head=16, linear='fastfood', family='fastfood'),
        dict(name='blockdiag_mlp', n_layer=12, n_embd=1024, n_head=16, mlp_linear='blockdiag', blocks=4,
             family='blockdiag')]
# the dense width line at depth 12 (heads of 64), a doped model of whole frozen decoder layers, the block-diagonal
# MLP with one Hadamard between its two matrices (as in lighton_cpu.py)
runs += [dict(name=f'dense_W{w}', n_layer=12, n_embd=w, n_head=w // 64, family='dense_width')
         for w in (256, 384, 512, 1024, 1536)]
runs += [dict(name='doped_block_small', n_layer=11, n_embd=768, n_head=12, doped=True, doped_layer='block',
              family='doped_block'),
         dict(name='blockdiag_between', n_layer=12, n_embd=1024, n_head=16, mlp_linear='blockdiag', blocks=4,
              blockdiag_mix='between', family='blockdiag_between')]
seeds = [1337]
nproc = 1                  # LightOn used 4 V100s per node; set nproc to the GPUs of one node
