# The factorized-embedding comparison of factorized_bpe_cpu.py at GPU scale: GPT-2 small's shape (12 layers, 768
# wide) on FineWeb-Edu with its 32,768-token BPE (python data/fineweb_edu/prepare.py --num_shards 40), where the
# embedding and head (2 x 25M) are a large share of the 85M non-embedding weights. Untied, tied, tied factorized at
# E = 128 and 256, untied factorized at E = 128. 524,288 tokens per step, 2,000 steps (1.05B tokens) per run.
#   python sweep.py config/sweeps/factorized_bpe_gpu.py --dry-run
name = 'factorized_bpe_gpu'
base = dict(dataset='fineweb_edu', n_layer=12, n_embd=768, n_head=12, block_size=1024, batch_size=32,
            gradient_accumulation_steps=16, max_iters=2000, warmup_iters=100, learning_rate=6e-4, min_lr=6e-5,
            eval_interval=100, eval_iters=40, log_interval=10, compile=True)
runs = [dict(name='untied', family='untied'),
        dict(name='tied', tie_embeddings=True, family='tied'),
        dict(name='tied_E128', tie_embeddings=True, embd_dim=128, family='tied_factorized'),
        dict(name='tied_E256', tie_embeddings=True, embd_dim=256, family='tied_factorized'),
        dict(name='untied_E128', embd_dim=128, family='untied_factorized')]
seeds = [1337]
target_loss = 4.0
nproc = 1
