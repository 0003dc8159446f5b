# elephant_cpu.py and more, into the same results folder (its finished rows are replayed, not retrained): the post's
# pure form W = sum_k α_k W_k with no W0 (basis_form='pure'), α at random signs ('normal') and all alike ('equal'),
# both scaled so that W starts at the dense std, on three paired seeds (does the pure form's result depend on the α
# init?); the FFT projection of the post's last section; SAID (one λ per tensor, inside the d = 1000); Muon on the
# two families that have 2-D trainable matrices (optimizer='muon': Muon for the blocks' matrices, AdamW for the rest;
# the lr grid scales muon_lr with learning_rate). Grids are centred on the optima of the earlier, wider sweep (see
# elephant_cpu.py). elephant_long_cpu.py adds the 4x-compute phase.
# Budget (2-core EPYC): NOT YET MEASURED (21 grid points and 10 seeds: about 55 min at --jobs 2 after elephant_cpu.py).
#   python sweep.py config/sweeps/elephant_more_cpu.py --jobs 2 && python report.py results/elephant_cpu
include('config/sweeps/elephant_cpu.py')
runs += [dict(name=f'basis_d5_pure_{init}', family='basis_pure', linear='basis', basis_dim=5, basis_form='pure',
              basis_alpha_init=init, seeds=_three, lr_grid=_around(32)) for init in ('normal', 'equal')]
runs += [dict(name='basis_d5_fft', linear='basis', basis_dim=5, basis_projection='fft', lr_grid=_around(64)),
         dict(name='intrinsic_d1000_fft', linear='intrinsic', intrinsic_dim=1000, intrinsic_projection='fft',
              seeds=_three, lr_grid=_around(32)),
         dict(name='intrinsic_d1000_said', family='intrinsic_said', linear='intrinsic', intrinsic_dim=1000,
              intrinsic_said=True, seeds=_three, lr_grid=_around(32)),
         dict(name='dense_muon', family='dense_muon', linear='dense', optimizer='muon', seeds=_three,
              lr_grid=_around(1)),
         dict(name='lora_muon', family='lora_muon', linear='lora', optimizer='muon', lr_grid=_around(1))]
claims += [
    dict(claim="the pure form W = Σ α_k W_k is fickle to its α init", source=_post,
         a='basis_d5_pure_normal', b='basis_d5_pure_equal', holds_if='a!=b', margin=0.02),
    dict(claim="the FFT projection stands in for Fastfood's", source=_post,
         a='intrinsic_d1000_fft', b='intrinsic_d1000', holds_if='a=b', margin=0.02),
    dict(claim='one scale per weight tensor (SAID) helps at the same d', source='Aghajanyan et al. 2020',
         a='intrinsic_d1000_said', b='intrinsic_d1000', holds_if='a<b'),
    dict(claim='Muon trains the dense model better than AdamW', source='Jordan et al. 2024',
         a='dense_muon', b='dense', holds_if='a<b'),
]
