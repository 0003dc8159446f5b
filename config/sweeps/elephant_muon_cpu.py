# elephant_cpu.py and a Muon column, into the same results folder (the finished rows are replayed, not retrained): the
# two families that have 2-D trainable matrices again with optimizer='muon' (Muon for the blocks' matrices, AdamW for
# the rest; the lr grid scales muon_lr with learning_rate, on nanochat's 0.02): does the optimizer change a verdict?
# Three seeds each. elephant_more_cpu.py adds the pure form, FFT, SAID and LoRA's second lr axis on top.
# Budget (2-core EPYC, --jobs 2, measured 2026-12-01): 11 runs (7 grid points with one extension, 4 seeds), 4,118 s
# wall (69 min), 6,462 s CPU. A step costs ~5x dense's AdamW step on this CPU (torch.optim.Muon runs Newton-Schulz in
# bfloat16, slow on a CPU).
#   python sweep.py config/sweeps/elephant_muon_cpu.py && python report.py results/elephant_cpu
include('config/sweeps/elephant_cpu.py')
runs += [dict(name='dense_muon', family='dense_muon', linear='dense', optimizer='muon', seeds=_three,
              lr_grid=_around(1)),
         dict(name='lora_muon', family='lora_muon', linear='lora', optimizer='muon', seeds=_three,
              lr_grid=_around(1))]
claims += [
    dict(claim='Muon trains the dense model better than AdamW', source='Jordan et al. 2024',
         a='dense_muon', b='dense', holds_if='a<b'),
    dict(claim='LoRA is better than a random basis, under Muon too', source=_post, a='lora_muon', b='basis_d5',
         holds_if='a<b'),
]
