# Ranks that change with depth: attention set per layer by hand, MLP halving from rank 64 (the "Dec"
# runs of Armstrong's low-rank substitution study). The resolved ranks are printed at start.
#   python train.py config/lowrank_schedule_small.py
out_dir = 'out-lowrank-schedule-small'
linear = 'lowrank'
attn_rank = [8, 16, 32, 64]
mlp_rank = 64
rank_schedule = 'decreasing'
