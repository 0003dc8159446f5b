# elephant_more_cpu.py (itself elephant_muon_cpu.py and more; the finished rows are replayed, not retrained), then the
# thousand-parameter verdict again at 4x dense's compute: embeddings-only and intrinsic d = 1,000, three seeds each,
# at their best lr from the short budget (not re-tuned: a verdict that flips at 4x says so).
# Budget (2-core EPYC, --jobs 2, measured 2026-12-01): 6 runs of 4-5.7x a short run's tokens, 4,408 s wall (73 min),
# 7,613 s CPU.
#   python sweep.py config/sweeps/elephant_long_cpu.py && python report.py results/elephant_cpu
include('config/sweeps/elephant_more_cpu.py')
# C_actual: a run that computes less per token trains on more tokens (embeddings-only 0.7x dense: 5.7x the tokens)
long = dict(factor=4, runs=['embeddings_only', 'intrinsic_d1000'], reference='dense')
