# nanochat's d20 shape (depth 20, width 1280, 10 heads of 128), dense: the reference for lowrank_d20.py.
# 561M parameters, 393M of them non-embedding (python model.py --n_layer=20 --n_embd=1280 --n_head=10
# --vocab_size=65536 --block_size=2048). Data first:
#   python data/fineweb_edu/prepare.py --num_shards 240 --vocab_size 65536
# then on one 8-GPU node:
#   torchrun --standalone --nproc_per_node=8 train.py config/dense_d20.py
out_dir = 'out-dense-d20'
dataset = 'fineweb_edu'
n_layer = 20
n_embd = 1280
n_head = 10
block_size = 2048
# 524,288 tokens per step (8 GPUs x 32 x 2048); 21,400 steps = 11.2B tokens, about 20 tokens per parameter
batch_size = 32
gradient_accumulation_steps = 8
max_iters = 21400
learning_rate = 6e-4
min_lr = 6e-5
warmup_iters = 500
weight_decay = 0.1
eval_interval = 500
eval_iters = 40
log_interval = 10
compile = True
