# lighton_cpu.py (the finished rows are replayed, not retrained, into the same results folder), then the doping
# verdict (doped_L3 against dense_L2) again at 4x dense_L2's compute, three seeds each, at their best lr from the
# short budget (not re-tuned: a verdict that flips at 4x says so).
# Budget (2-core EPYC, measured 2026-12-02 at --jobs 2): 6 runs, 806 s wall, 1,575 s CPU.
#   python sweep.py config/sweeps/lighton_long_cpu.py && python report.py results/lighton_cpu
include('config/sweeps/lighton_cpu.py')
long = dict(factor=4, runs=['dense_L2', 'doped_L3'])
