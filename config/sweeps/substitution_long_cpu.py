# substitution_cpu.py (the finished rows are replayed, not retrained, into the same results folder), then the depth
# verdict (the 8-layer Med/Med model against the 4-layer one) again at 4x dense's compute (the low-rank models compute
# less per token: they train on more tokens), three seeds each, at their best lr from the short budget (not re-tuned:
# a verdict that flips at 4x says so).
# Budget (2-core EPYC, --jobs 2): NOT YET MEASURED; estimated from the runs' step times so far: the Med/Med models
# compute 5.2x (4 layers) and 2.8x (8 layers) less per token than dense, so at 4x dense's compute they train 10,400 and
# 5,667 steps (20.8x and 11.3x their short runs) at ~0.32 and ~0.7 s a step on one thread: ~55 and ~66 min a run,
# ~6 CPU-hours, ~3 h wall (a session of its own; sweep.py resumes it).
#   python sweep.py config/sweeps/substitution_long_cpu.py && python report.py results/substitution_cpu
include('config/sweeps/substitution_cpu.py')
long = dict(factor=4, runs=['MedSA-MedMLP-4L', 'MedSA-MedMLP-8L'], reference='FullSA-FullMLP')
