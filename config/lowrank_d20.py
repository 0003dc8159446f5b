# d20 (config/dense_d20.py) with every attention and MLP matrix replaced by W = B A at a quarter of its
# break-even rank mn/(m+n): attention rank 160 (of 640), MLP rank 256 (of 1024). The parameter report
# (python model.py --n_layer=20 --n_embd=1280 --n_head=10 --vocab_size=65536 --linear=lowrank
#  --attn_rank=0.25 --mlp_rank=0.25) gives 98.4M non-embedding trainable parameters against dense's 393.3M
# (25%), C_train 0.59 GFLOP/token against 2.36, and a 1.06 GB checkpoint against 2.24 GB. The token budget is
# kept equal to dense's so the two are compared at the same data (not at 20 tokens per trainable parameter).
#   torchrun --standalone --nproc_per_node=8 train.py config/lowrank_d20.py
include('config/dense_d20.py')  # configurator.py runs it first, in this namespace
out_dir = 'out-lowrank-d20'
linear = 'lowrank'
attn_rank = 0.25
mlp_rank = 0.25
