# sharing_cpu.py (the finished rows are replayed, not retrained, into the same results folder), then the first verdict
# (one block shared by all layers against none) again at 4x the unshared model's compute (a shared model computes as
# much per token): share=none and share=all, three seeds each, at their best lr from the short budget (not re-tuned: a
# verdict that flips at 4x says so).
# Budget (2-core EPYC): NOT YET MEASURED (six runs of 4x a short run's tokens: about 24 runs' worth).
#   python sweep.py config/sweeps/sharing_long_cpu.py && python report.py results/sharing_cpu
include('config/sweeps/sharing_cpu.py')
long = dict(factor=4, runs=['share=none', 'share=all'])
