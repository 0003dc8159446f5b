# LightOn's "Doped small" (Table 2 of "Is the number of trainable parameters all that actually matters?"):
# 11 layers alternating trainable transformer blocks and frozen random MLPs (width 6 x d_model), first and
# last trainable; d_model 768, 12 heads, context 1024, dropout 0.1, Adam lr 5e-4 with cosine decay, batch 80
# sequences, weight decay 0, clipping 1.0. They trained 32G tokens of French Common Crawl; this uses
# FineWeb-Edu (python data/fineweb_edu/prepare.py --num_shards 300). The trainable / frozen counts and the
# frozen-at-2/3 compute are printed at start and logged (C_train, C_frozen_2_3, C_actual).
#   torchrun --standalone --nproc_per_node=8 train.py config/lighton_doped_small.py
out_dir = 'out-lighton-doped-small'
dataset = 'fineweb_edu'
n_layer = 11
doped = True
frozen_mlp_ratio = 6
n_embd = 768
n_head = 12
block_size = 1024
dropout = 0.1
batch_size = 10                     # x 8 accumulation steps = 80 sequences = 81,920 tokens per step
gradient_accumulation_steps = 8
learning_rate = 5e-4
min_lr = 0.0
weight_decay = 0.0
grad_clip = 1.0
warmup_iters = 5000                 # 409.6M tokens
lr_decay_iters = 400391            # 32.8G tokens
max_iters = 390625                  # 32G tokens
eval_interval = 2000
eval_iters = 50
compile = True
