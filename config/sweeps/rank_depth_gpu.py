# Gillis's rank-vs-depth proposal (2025) at its scale: the nanochat-like baseline of depth 20 and width 1024 (8
# heads of 128), FineWeb-Edu (python data/fineweb_edu/prepare.py --num_shards 40), 524,288 tokens per step, 2,000
# steps (1.05B tokens) per run. Rank sweeps for attention and MLP separately, depth vs rank at a fixed budget
# (layers x rank fraction = 10), the named schedules at rank 1/2, and a learning-rate sweep per variant. Outputs:
# val loss, time to target, trainable parameters, peak memory (report.py's time_memory.png and tables).
#   python sweep.py config/sweeps/rank_depth_gpu.py --dry-run
from sweep import grid
name = 'rank_depth_gpu'
base = dict(dataset='fineweb_edu', n_layer=20, n_embd=1024, n_head=8, block_size=2048, batch_size=16,
            gradient_accumulation_steps=16, max_iters=2000, warmup_iters=100, learning_rate=6e-4, min_lr=6e-5,
            eval_interval=100, eval_iters=20, log_interval=10, compile=True)
_fracs = [0.0625, 0.125, 0.25, 0.5, 1.0]
_schedules = ['constant', 'increasing', 'decreasing', 'linear', 'step', 'exponential', 'neg_quadratic']
runs = [dict(name='dense', family='dense')]
runs += [dict(name=f'attn_rank{r}', attn_linear='lowrank', attn_rank=r, family='attn_rank') for r in _fracs]
runs += [dict(name=f'mlp_rank{r}', mlp_linear='lowrank', mlp_rank=r, family='mlp_rank') for r in _fracs]
runs += [dict(name=f'L{L}_rank{r}', n_layer=L, linear='lowrank', attn_rank=r, mlp_rank=r, family='depth_x_rank')
         for L, r in ((10, 1.0), (20, 0.5), (40, 0.25))]
runs += [dict(name=f'schedule_{s}', linear='lowrank', attn_rank=0.5, mlp_rank=0.5, rank_schedule=s,
              family='schedule') for s in _schedules]
runs += [dict(name=f'lr{lr}_{v}', learning_rate=lr, min_lr=lr / 10, linear=v, family=f'lr_{v}')
         for v in ('dense', 'lowrank') for lr in (2e-4, 6e-4, 2e-3)]
seeds = [1337]
target_loss = 3.5
