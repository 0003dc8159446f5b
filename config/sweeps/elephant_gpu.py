# Ghosh's five-parameter experiment at its blog post's scale: GPT-2 small (12 layers, 768 wide, 12 heads, context
# 1024) pre-trained from scratch on ~1B tokens of web text (the blog: C4; here FineWeb-Edu, python
# data/fineweb_edu/prepare.py --num_shards 12), with dense, LoRA on a random init (~21M trainable, the blog's
# "20M"), 5 coefficients per matrix (the blog's "1000 params"), a global intrinsic vector of d = 5 (the
# "five-parameter model") up to 10^4, and the embeddings-only baseline. 524,288 tokens per step: 1907 steps = 1.0B
# tokens.
#   python sweep.py config/sweeps/elephant_gpu.py --dry-run     # counts and C_train per run
#   python sweep.py config/sweeps/elephant_gpu.py && python report.py results/elephant_gpu
from sweep import grid
name = 'elephant_gpu'
base = dict(dataset='fineweb_edu', n_layer=12, n_embd=768, n_head=12, block_size=1024, batch_size=32,
            gradient_accumulation_steps=16, max_iters=1907, warmup_iters=100, learning_rate=6e-4, min_lr=6e-5,
            eval_interval=100, eval_iters=40, log_interval=10, compile=True)
runs = [
    dict(name='dense', linear='dense'),
    dict(name='lora', linear='lora'),
    dict(name='basis_d5', linear='basis', basis_dim=5),
    dict(name='embeddings_only', linear='frozen'),
] + [dict(name=f'intrinsic_d{d}', linear='intrinsic', intrinsic_dim=d) for d in (5, 10, 100, 1000, 10000)]
# the pure form (no W0) at both α inits, the FFT projection, SAID inside its d (as in elephant_cpu.py)
runs += [dict(name=f'basis_d5_pure_{init}', family='basis_pure', linear='basis', basis_dim=5, basis_form='pure',
              basis_alpha_init=init) for init in ('normal', 'equal')]
runs += [dict(name='basis_d5_fft', linear='basis', basis_dim=5, basis_projection='fft'),
         dict(name='intrinsic_d1000_fft', linear='intrinsic', intrinsic_dim=1000, intrinsic_projection='fft'),
         dict(name='intrinsic_d1000_said', family='intrinsic_said', linear='intrinsic', intrinsic_dim=1000,
              intrinsic_said=True)]
seeds = [1337]
target_loss = 4.0
nproc = 1                  # one GPU per run; set 8 (and jobs=1) on an 8-GPU node
