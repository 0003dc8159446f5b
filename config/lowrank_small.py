# The default CPU model with low-rank attention and MLP at a quarter of the break-even rank
# (attention 16 of 64, MLP 26 of 102): 200k non-embedding trainable parameters instead of 788k.
#   python train.py config/lowrank_small.py
out_dir = 'out-lowrank-small'
linear = 'lowrank'
attn_rank = 0.25
mlp_rank = 0.25
