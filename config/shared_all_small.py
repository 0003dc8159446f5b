# ALBERT-style sharing at CPU scale: one transformer block's parameters reused by all 4 layers, and a
# factorized embedding (V x 32, then 32 x 128). Trainable non-embedding parameters fall 4x; compute per
# token does not (C_actual is the dense model's).
#   python train.py config/shared_all_small.py && python sample.py --out_dir=out-shared-all-small
out_dir = 'out-shared-all-small'
share = 'all'
embd_dim = 32
