"""kernels/philox.py: Philox-4x32-10 against Random123's known answers, golden values of every draw, their
statistics, the Feistel permutation, and the same values on every device and in every chunking."""
import math

import pytest
import torch

from kernels import philox
from kernels.philox import MASK, gaussian, key_of, perm, perm_inverse, perm_mod, signs, uniform, words

# Random123's known-answer vectors for Philox-4x32-10 (Salmon, Moraes, Dror, Shaw 2011; the kat_vectors file of its
# reference implementation): counter, key -> output
KAT = [((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
       ((MASK,) * 4, (MASK,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
       ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
        (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]

# golden values, generated once by this implementation after it matched KAT (key = key_of(1337, 0, 'attn.q', 'W0'))
KEY = (0x9f2079f6, 0xade9efc2)
WORDS = [0xf4dc29a2, 0x1b730076, 0xa92ccf93, 0x558e9bb0, 0x66e8f660, 0xa15ed0c0, 0xe8122f4b, 0x18ba248b, 0x2a39e022,
         0xacacc7ee, 0x043ab145, 0xd95db1c3, 0x56576539, 0x8b7e80b6, 0x00620716, 0x09547ba7, 0xa958c609, 0x46d0c684,
         0x823b1dc4, 0x6cf4b8cf, 0xdb3ce4d8, 0x5a72cf4e, 0x6ec30cb5, 0x94d9ae15, 0x89f074f2, 0xdbba6776, 0x7f56fe3f,
         0xba0374f9, 0x5f1d0555, 0x88cd6da7, 0x47fca0ca, 0xfdb782b7, 0x8137a982, 0x0522e92f, 0x56dae18e, 0xf524aa5a,
         0x56888a91, 0xa3fca36a, 0x1da38616, 0x4887f534, 0x8bcb4f82, 0xe2fcc40e, 0xe837226d, 0xb17d8ac2, 0xecaf6d82,
         0x9ee8ced2, 0xb86254e7, 0x55b0aa8f, 0xc67bdb66, 0x8e5c5254, 0x6fefbefe, 0xd29609b0, 0xdd8c2461, 0x6b5da76c,
         0x4bd363e3, 0x6f3018eb, 0xa90d7d92, 0xf55c352d, 0xd94ab145, 0x282fc0e2, 0x9ac5ace9, 0x8dda65f6, 0x4a768f66,
         0x3b99b82e]
UNIFORM_24BIT = [15981123, 13444605, 9881095, 5882798, 1111976, 3498297, 12589173, 11651282, 11572449, 4339837,
                 15467927, 10188420, 11420418, 16272119, 3121754, 13669328, 7956585, 3994352, 2399743, 10990774,
                 5108493, 9875138, 15205361, 5778637, 1596654, 11030989, 7482517, 14329674, 16125559, 554205, 5131736,
                 830503]                                                        # stream 1, times 2^24
GAUSSIAN_BITS = [0xbfa08b15, 0x3f0ae506, 0xbf8bba48, 0x3fac930e, 0x3eb6dda5, 0x3fae731e, 0x3fb0386d, 0x3f979716,
                 0xbff4f333, 0xbf6bfb9f, 0xbf4c8029, 0xbfb4376e, 0x3eda0536, 0x3f8fae80, 0xbff93663, 0x3f850be0,
                 0xbf764f24, 0xbfa6746e, 0xbe07d5bf, 0x3e6fd50d, 0x3f72637f, 0x3f336268, 0x3f9a4a4c, 0xbd4ae9ee,
                 0xbe644caf, 0x3fec5efd, 0x3f4186f2, 0x3f015c00, 0x3f6988cf, 0xbdec0d7d, 0xbfa44cfb, 0xbf6deb6a,
                 0x3f9ffbd0, 0x3f2cf2ba, 0xbd8dd896, 0xbfde0f72, 0xbfa0c5e1, 0x4044a2c2, 0x3f6262f6, 0x3e3d21d4,
                 0xbe5c8f6a, 0xbf144322, 0x3fff0a4b, 0x3f22cbaa, 0xbfc895ad, 0x3e8e93ab, 0xbf5ea586, 0xbf9165c7,
                 0x401c2244, 0xbf9b6b00, 0xbf167e6e, 0x3fd44d00, 0x3f05337d, 0xbf3c0d07, 0x3fba2037, 0x3f171c2d,
                 0xbf8a7523, 0xbe4edd8c, 0x3e5763a7, 0x3f2e3b79, 0x3f76b764, 0xbf8c7f15, 0x3e90e378, 0x3fbb0338]
SIGNS = '+-+-++-+--+-++-+++--++--+-+-+++-+++++++-++-++++--+-+--+-+-++-+++'   # stream 3
PERM_7 = [4, 6, 1, 0, 3, 5, 2]
PERM_1000 = [493, 782, 407, 705, 372, 92, 395, 331, 574, 720, 589, 537, 569, 579, 761, 315, 155, 866, 950, 410, 181,
             316, 578, 649, 240, 677, 827, 689, 162, 313, 672, 288, 238, 428, 422, 408, 13, 111, 14, 62]
PERM_65539 = [40759, 49510, 52687, 40814, 49778, 20936, 52523, 11077, 40564, 37020, 60743, 45526, 31344, 2714, 52408,
              35904, 52269, 41925, 28790, 45349]
PERM_LENGTHS = [1, 2, 3, 7, 64, 1000, 1 << 16, (1 << 16) + 3]


def float32_bits(x):
    return [int(v) & MASK for v in x.view(torch.int32)]


def ulps(a, b):
    """|a - b| in float32 ulps (same-sign finite floats: the distance between their bit patterns)."""
    return (a.view(torch.int32).long() - b.view(torch.int32).long()).abs()


def philox_reference(key, ctr):
    """Philox-4x32-10 as the paper writes it, on Python ints (exact 64-bit products)."""
    (c0, c1, c2, c3), (k0, k1) = ctr, key
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & MASK, (k1 + 0xBB67AE85) & MASK
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK
    return c0, c1, c2, c3


@pytest.mark.parametrize('ctr,key,expected', KAT)
def test_philox_matches_random123_known_answers(ctr, key, expected):
    assert tuple(int(w) for w in philox.philox(key, *ctr)) == expected
    assert philox_reference(key, ctr) == expected


def test_vectorised_philox_equals_the_scalar_definition_on_random_counters_and_keys():
    g = torch.Generator().manual_seed(0)
    ctrs = torch.randint(0, 1 << 32, (50, 4), generator=g)
    for key in [(0, 0), (MASK, 1), (0x12345678, 0x9abcdef0)]:
        out = torch.stack(philox.philox(key, *ctrs.T), dim=1)
        assert out.tolist() == [list(philox_reference(key, tuple(c))) for c in ctrs.tolist()]


def test_golden_values_of_every_draw():
    assert key_of(1337, 0, 'attn.q', 'W0') == KEY
    assert words(KEY, 64).tolist() == WORDS
    assert [philox_reference(KEY, (j // 4, 0, 0, 0))[j % 4] for j in range(64)] == WORDS   # word j = lane j%4 of j//4
    assert (uniform(KEY, 32, stream=1) * 2 ** 24).long().tolist() == UNIFORM_24BIT
    assert float32_bits(gaussian(KEY, 64, stream=2)) == GAUSSIAN_BITS       # bit-exact (eager, CPU)
    assert ''.join('+' if s > 0 else '-' for s in signs(KEY, 64, stream=3)) == SIGNS
    assert perm(KEY, 7, torch.arange(7)).tolist() == PERM_7
    assert perm(KEY, 1000, torch.arange(40)).tolist() == PERM_1000
    assert perm(KEY, 65539, torch.arange(20)).tolist() == PERM_65539


def test_draws_are_functions_of_key_and_index_only_whatever_the_chunking(monkeypatch):
    n = 3000
    full = dict(w=words(KEY, n), u=uniform(KEY, n), s=signs(KEY, n), z=gaussian(KEY, n),
                zs=gaussian(KEY, 700, stream=[5, 9]), p=perm(KEY, 2999, torch.arange(2999)))
    monkeypatch.setattr(philox, 'CPU_CHUNK', 37)                      # odd pass boundaries everywhere
    assert torch.equal(words(KEY, n), full['w']) and torch.equal(uniform(KEY, n), full['u'])
    assert torch.equal(signs(KEY, n), full['s']) and torch.equal(gaussian(KEY, n), full['z'])
    assert torch.equal(gaussian(KEY, 700, stream=[5, 9]), full['zs'])
    assert torch.equal(gaussian(KEY, 700, stream=9), full['zs'][1])   # row k of a multi-stream draw is stream k
    assert torch.equal(perm(KEY, 2999, torch.arange(2999)), full['p'])
    idx = torch.tensor([[2998, 5], [0, 1]])
    assert torch.equal(perm(KEY, 2999, idx), full['p'][idx])        # any index set, any shape: O(1) per index


def test_gaussian_is_box_muller_within_one_float32_ulp_of_the_library_functions():
    w = words(KEY, 200_000).double()
    u, theta = (w[0::2] + 0.5) * 2.0 ** -32, w[1::2] * (2 * math.pi * 2.0 ** -32)
    r = (-2 * u.log()).sqrt()
    library = torch.stack((r * theta.cos(), r * theta.sin()), dim=-1).flatten().float()
    assert ulps(gaussian(KEY, 200_000), library).max() <= 1


def test_statistics_of_a_million_draws():
    n = 1 << 20
    z = gaussian(key_of('stats', 'z'), n).double()
    assert abs(z.mean()) < 5 / math.sqrt(n) and abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    for t, p in ((2, 0.0455003), (3, 0.0026998)):                     # two-sided normal tails
        assert abs((z.abs() > t).double().mean() - p) < 5 * math.sqrt(p / n)
    assert abs((z ** 4).mean() - 3) < 0.05                            # kurtosis of a Gaussian
    corr = lambda a, b: ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())
    other = gaussian(key_of('stats', 'z2'), n).double()
    assert abs(corr(z, other)) < 5 / math.sqrt(n)                     # two keys: independent
    assert abs(corr(z[0::2], z[1::2])) < 5 / math.sqrt(n / 2)         # cos and sin of one pair: uncorrelated
    assert abs(corr(z[:-1], z[1:])) < 5 / math.sqrt(n)
    u = uniform(key_of('stats', 'u'), n).double()
    assert abs(u.mean() - 0.5) < 5 / math.sqrt(12 * n) and abs(u.var() - 1 / 12) < 1e-3
    assert u.min() >= 0 and u.max() < 1
    s = signs(key_of('stats', 's'), n)
    assert set(s.unique().tolist()) == {-1.0, 1.0} and abs(s.double().mean()) < 5 / math.sqrt(n)


@pytest.mark.parametrize('n', PERM_LENGTHS)
def test_permutation_is_a_bijection_with_an_exact_inverse(n):
    i = torch.arange(n)
    p = perm(KEY, n, i)
    assert torch.equal(p.sort().values, i)                            # every index exactly once
    assert torch.equal(perm_inverse(KEY, n, p), i) and torch.equal(p[perm_inverse(KEY, n, i)], i)
    assert torch.equal(perm(KEY, n, i), p)                            # the same on every call
    if n >= 64:
        assert not torch.equal(perm(key_of('another key'), n, i), p)  # and another key gives another one


@pytest.mark.parametrize('chunk', [1 << 6, philox.CPU_CHUNK])
@pytest.mark.parametrize('n', [2, 16, 1 << 11, 1 << 14, 1000, 4097])
def test_perm_mod_is_the_permutations_low_bits_whatever_the_chunking(n, chunk, monkeypatch):
    monkeypatch.setattr(philox, 'CPU_CHUNK', chunk)                   # rows of the (hi, lo) grid split across chunks
    full = perm(KEY, n, torch.arange(n))
    for m in (1, 2, 8, 64, 1 << 7, 1 << 9):                           # up to past the lo half: the fallback
        if m <= n:
            assert torch.equal(perm_mod(KEY, n, m), full & (m - 1)), m


def test_permutation_looks_random():
    n = 1 << 16
    i = torch.arange(n).double()
    p = perm(KEY, n, torch.arange(n)).double()
    assert abs(torch.corrcoef(torch.stack((i, p)))[0, 1]) < 5 / math.sqrt(n)
    assert (p == i).sum() <= 8                                        # fixed points: Poisson(1) for a random one
    steps = (p[1:] - p[:-1]).abs()
    assert abs(steps.mean() / n - 1 / 3) < 0.01                       # |p(i+1) - p(i)| as for independent uniforms


def test_draws_compile_fullgraph_as_opaque_ops_with_the_same_values():
    draw = lambda x: (gaussian(KEY, 100) + x, perm(KEY, 77, torch.arange(77)), signs(KEY, 64, stream=range(2)))
    compiled = torch.compile(draw, fullgraph=True, backend='aot_eager')
    for a, b in zip(compiled(torch.zeros(100)), draw(torch.zeros(100))):
        assert torch.equal(a, b)


def test_a_draw_on_the_meta_device_is_its_shape_and_dtype_without_values():
    """sweep.py's estimates build whole models on the meta device: the draws there cost nothing."""
    key = key_of(1, 0, 'attn.q', 'W0')
    for draw, dtype in ((words, torch.int64), (uniform, torch.float32), (signs, torch.float32),
                        (gaussian, torch.float32)):
        x = draw(key, 1000, 'meta')
        assert x.is_meta and x.shape == (1000,) and x.dtype == dtype == draw(key, 3).dtype
    assert words(key, 7, 'meta', stream=[0, 1, 2]).shape == (3, 7)
    with torch.device('meta'):
        assert gaussian(key, 5).is_meta           # None: the default device, meta here too


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cuda_draws_equal_cpu_draws():
    n = 1 << 20
    for draw in (words, uniform, signs):
        assert torch.equal(draw(KEY, n, 'cuda').cpu(), draw(KEY, n, 'cpu'))
    assert torch.equal(perm(KEY, n + 3, torch.arange(n + 3, device='cuda')).cpu(), perm(KEY, n + 3, torch.arange(n + 3)))
    assert torch.equal(perm_inverse(KEY, n, torch.arange(n, device='cuda')).cpu(), perm_inverse(KEY, n, torch.arange(n)))
    assert ulps(gaussian(KEY, n, 'cuda').cpu(), gaussian(KEY, n, 'cpu')).max() <= 1   # the stated tolerance
    from model import randn                                                        # a W0 drawn on the GPU
    assert torch.allclose(randn((256, 64), KEY, 0.1, 'cuda').cpu(), randn((256, 64), KEY, 0.1), rtol=2 ** -22, atol=0)
