# elephant_muon_cpu.py (itself elephant_cpu.py and a Muon column) and more, into the same results folder (its finished
# rows are replayed, not retrained): the post's pure form W = sum_k α_k W_k with no W0 (basis_form='pure'), α at
# random signs ('normal') and all alike ('equal'), both scaled so that W starts at the dense std, on three paired
# seeds (does the pure form's result depend on the α init?); the FFT projection of the post's last section; SAID (one
# λ per tensor, inside the d = 1000); LoRA on a second lr axis. Grids are centred on the optima of the earlier, wider
# sweep (see elephant_cpu.py). elephant_long_cpu.py adds a 4x phase on top.
# Budget (2-core EPYC, --jobs 2, measured 2026-12-01): 29 runs (19 grid points with one extension, 10 seeds),
# 4,065 s + about 900 s wall over two sessions (83 min), 9,754 s CPU.
#   python sweep.py config/sweeps/elephant_more_cpu.py && python report.py results/elephant_cpu
include('config/sweeps/elephant_muon_cpu.py')
runs += [dict(name=f'basis_d5_pure_{init}', family='basis_pure', linear='basis', basis_dim=5, basis_form='pure',
              basis_alpha_init=init, seeds=_three, lr_grid=_around(32)) for init in ('normal', 'equal')]
runs += [dict(name='basis_d5_fft', linear='basis', basis_dim=5, basis_projection='fft', lr_grid=_around(64)),
         dict(name='intrinsic_d1000_fft', linear='intrinsic', intrinsic_dim=1000, intrinsic_projection='fft',
              seeds=_three, lr_grid=_around(32)),
         dict(name='intrinsic_d1000_said', family='intrinsic_said', linear='intrinsic', intrinsic_dim=1000,
              intrinsic_said=True, seeds=_three, lr_grid=_around(32))]
# LoRA's best single lr (x1) trains its embeddings 8x slower than dense's (x8): with variant_lr_mult = 1/8 the factors
# keep their rate at x8 while the embeddings and head get dense's. A second lr axis, on three paired seeds.
runs += [dict(name='lora_slow_factors', family='lora', linear='lora', variant_lr_mult=1/8, seeds=_three,
              lr_grid=_around(8))]
claims += [
    dict(claim="the pure form W = Σ α_k W_k is fickle to its α init", source=_post,
         a='basis_d5_pure_normal', b='basis_d5_pure_equal', holds_if='a!=b', margin=0.02),
    dict(claim="the FFT projection stands in for Fastfood's", source=_post,
         a='intrinsic_d1000_fft', b='intrinsic_d1000', holds_if='a=b', margin=0.02),
    dict(claim='one scale per weight tensor (SAID) helps at the same d', source='Aghajanyan et al. 2020',
         a='intrinsic_d1000_said', b='intrinsic_d1000', holds_if='a<b'),
]
