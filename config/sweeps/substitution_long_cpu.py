# substitution_cpu.py (the finished rows are replayed, not retrained, into the same results folder), then the depth
# verdict (the 8-layer Med/Med model against the 4-layer one) again at 4x the 8-layer model's compute, both at that
# compute (the 4-layer model computes 1.8x less per token: it trains on 1.8x the tokens), three seeds each, at their
# best lr from the short budget (not re-tuned: a verdict that flips at 4x says so). The budget is 4x the deeper model's
# own, not 4x dense's: the claim compares the two Med/Med models, and at 4x dense's compute (which they undercut 2.8x
# and 5.2x per token) they would train 11-21x their short runs, ~6 CPU-hours, where this is ~2.
# Budget (2-core EPYC, --jobs 2, one thread each), measured 2026-12-02: 6 runs, 1,851 s wall (about 320 s of it paused
# for CI), 3,010 s CPU: ~500 s a run for 3,671 steps of the 4-layer model and 2,000 of the 8-layer one (the estimate,
# from the slower VM's short runs, was ~65 min).
#   python sweep.py config/sweeps/substitution_long_cpu.py && python report.py results/substitution_cpu
include('config/sweeps/substitution_cpu.py')
long = dict(factor=4, runs=['MedSA-MedMLP-4L', 'MedSA-MedMLP-8L'], reference='MedSA-MedMLP-8L')
