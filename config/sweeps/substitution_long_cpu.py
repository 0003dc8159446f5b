# substitution_cpu.py (the finished rows are replayed, not retrained, into the same results folder), then the depth
# verdict (the 8-layer Med/Med model against the 4-layer one) again at 4x dense's compute (the low-rank models compute
# less per token: they train on more tokens), three seeds each, at their best lr from the short budget (not re-tuned:
# a verdict that flips at 4x says so).
# Budget (2-core EPYC): NOT YET MEASURED (six runs of 4x dense's compute).
#   python sweep.py config/sweeps/substitution_long_cpu.py && python report.py results/substitution_cpu
include('config/sweeps/substitution_cpu.py')
long = dict(factor=4, runs=['MedSA-MedMLP-4L', 'MedSA-MedMLP-8L'], reference='FullSA-FullMLP')
