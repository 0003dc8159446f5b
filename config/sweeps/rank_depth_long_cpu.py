# rank_depth_cpu.py (the finished rows are replayed, not retrained, into the same results folder), then the depth
# verdict (L8_rank0.25 against L4_rank0.5) again at 4x dense's compute, three seeds each, at their best lr from the
# short budget (not re-tuned: a verdict that flips at 4x says so).
# Budget (2-core EPYC, --jobs 2, measured 2026-12-01): 6 runs of 4x dense's compute (2,178-2,666 steps), 1,673 s wall
# (28 min), 3,075 s CPU.
#   python sweep.py config/sweeps/rank_depth_long_cpu.py && python report.py results/rank_depth_cpu
include('config/sweeps/rank_depth_cpu.py')
long = dict(factor=4, runs=['L4_rank0.5', 'L8_rank0.25'], reference='dense')
