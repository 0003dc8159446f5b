# sharing_cpu.py (the finished rows are replayed, not retrained, into the same results folder), then the first verdict
# (one block shared by all layers against none) again at 4x the unshared model's compute (a shared model computes as
# much per token): share=none and share=all, three seeds each, at their best lr from the short budget (not re-tuned: a
# verdict that flips at 4x says so).
# Budget measured (2026-12-02, 2-core EPYC, --jobs 2, one thread each): 6 runs of 2,400 steps, 2,627 s wall, 5,112 s
# CPU (780-960 s a run), after sharing_cpu.py's 32 runs.
#   python sweep.py config/sweeps/sharing_long_cpu.py && python report.py results/sharing_cpu
include('config/sweeps/sharing_cpu.py')
long = dict(factor=4, runs=['share=none', 'share=all'])
