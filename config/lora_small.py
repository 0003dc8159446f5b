# LoRA on a frozen random init (the baseline of Ghosh's five-parameter blog post): W = W0 + B A, W0 regenerated from
# seeds, B = 0 at start so the model begins at a normal dense init. Rank 8 everywhere.
#   python train.py config/lora_small.py
out_dir = 'out-lora-small'
linear = 'lora'
attn_rank = 8
mlp_rank = 8
