# Parameter sharing (GPT-Efficio; ALBERT) at GPU scale: a 24-layer, 1024-wide model (GPT-2 medium's shape) on
# FineWeb-Edu with no sharing, all layers sharing one block, groups of 2 and of 4, each with and without an ALBERT
# factorized embedding (E = 128 for a 32k vocabulary; the CPU file uses 32 for 218 characters). 524,288 tokens per
# step, 4,000 steps (2.1B tokens) per run.
#   python data/fineweb_edu/prepare.py --num_shards 80 && python sweep.py config/sweeps/sharing_gpu.py
from sweep import grid
name = 'sharing_gpu'
base = dict(dataset='fineweb_edu', n_layer=24, n_embd=1024, n_head=16, block_size=1024, batch_size=32,
            gradient_accumulation_steps=16, max_iters=4000, warmup_iters=200, learning_rate=3e-4, min_lr=3e-5,
            eval_interval=200, eval_iters=40, log_interval=10, compile=True)
runs = grid(share=['none', 'all', 2, 4], embd_dim=[0, 128])
for _r in runs:
    _r['family'] = f"share_{_r['share']}"
runs += [dict(name=f'share=all-{w}', share='all', share_what=w, family=f'share_all_{w}') for w in ('attn', 'mlp')]
seeds = [1337]
target_loss = 3.5
