"""
The one generator of frozen random tensors: Philox-4x32-10 (Salmon, Moraes, Dror, Shaw 2011, "Parallel Random
Numbers: As Easy as 1, 2, 3"), a counter-based generator, written in plain integer tensor ops so that it runs the
same on CPU and CUDA, and the draws built on it. Every value is a function of (key, element index) only: a tensor is
drawn directly on the device that uses it, in any order and any chunking, and a model trained on a GPU regenerates the
same frozen tensors on a CPU.

    key = key_of(seed, layer, role, purpose)   # 64 bits from a stable hash (blake2b), as two 32-bit words
    w = words(key, n)                          # (n,) int64 holding uint32: the Philox output stream
    u = uniform(key, n)                        # (n,) float32 in [0, 1), 24-bit: (w >> 8) / 2^24
    s = signs(key, n)                          # (n,) float32 ±1, one bit of the stream each
    z = gaussian(key, n)                       # (n,) float32 N(0, 1): Box-Muller in float64, rounded
    p = perm(key, n, idx)                      # perm[idx] of a pseudo-random permutation of 0..n-1 (Feistel)
    i = perm_inverse(key, n, p)                # its inverse, as cheap

Philox. A 128-bit counter (c0, c1, c2, c3) and a 64-bit key (k0, k1) go through 10 rounds of
    (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))
with the key bumped by the Weyl constants (W0, W1) between rounds; out come four 32-bit words. Word j of a stream is
lane j % 4 of the counter (j // 4 low, j // 4 high, stream, 0). The values are int64 tensors holding 32-bit words: the
32 x 32 -> 64-bit product is formed from 16-bit halves of the multiplier, so no int64 ever overflows (signed overflow
is undefined and would not be portable); every op is an exact integer op, identical on every device. Counters may
be given as ints: that is how the tests check it against Random123's known-answer vectors.

Gaussian. Pair p of outputs uses words 2p (radius) and 2p+1 (angle): u = (w_2p + 1/2) / 2^32 in (0, 1) (never 0, so
the log is finite), θ = 2π w_2p+1 / 2^32, z_2p = r cos θ, z_2p+1 = r sin θ, r = sqrt(-2 ln u), in float64, rounded to
float32. |z| <= sqrt(2 ln 2^33) = 6.76; the tail beyond has probability 1.4e-11. Library log, cos and sin differ in
the last bits between devices (CUDA's libdevice; SLEEF's vector code and the C library's scalar tail on CPUs), so
they are not used: ln u comes from frexp and the series of atanh, cos θ and sin θ from the quadrant read off the
integer w and Taylor polynomials on [-π/4, π/4], each a chain of separate +, -, ×, ÷ tensor ops (and one √), which
IEEE 754 rounds correctly, hence identically, on every device; they stay within 2 ulp64 of the library functions.
Each draw is one torch.library custom op, which torch.compile keeps as an opaque node: its ops run one by one, compiled
model or not. So the Gaussians are bit-exact across CPU and CUDA. Were the ops ever fused, a multiply-add contracted
into an FMA would move a float64 value by about an ulp64, which changes its float32 rounding only when the value lies
that close to a rounding boundary (probability ~1e-8 per element), and then to the adjacent float32: the stated
tolerance is <= 1 float32 ulp. Words, uniforms, signs and permutations are integer-exact everywhere.

Permutation. A Feistel network on the index bits: b = ceil(log2 n) bits split into lo (ceil(b/2) bits) and hi
(floor(b/2) bits), FEISTEL_ROUNDS rounds alternately lo ^= F_r(hi) and hi ^= F_r(lo). Each round is its own inverse,
so the network is a bijection of 0..2^b - 1 and running the rounds backwards inverts it. F_r is a table of 2^16 or
fewer Philox words (stream r of the key), so a round costs one gather and one xor. Cycle-walking makes it a
permutation of 0..n-1 for any n: an index whose image falls in n..2^b - 1 is mapped again until it lands below n;
it terminates because its own cycle passes through the start (< n), and since 2^b < 2n half of the domain or more is
in range: on average fewer than two passes, and the loop runs on the shrinking set of indices still out of range.
perm(key, n, idx) is O(1) work and memory per index, never sorts, and never materialises a shuffle it is not asked
for. n <= 2^32.
"""

import hashlib
import math
from typing import List

import torch

M0, M1 = 0xD2511F53, 0xCD9E8D57     # Philox-4x32 multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85     # key increments: the golden ratio and sqrt(3) - 1, times 2^32
MASK = 0xFFFFFFFF
ROUNDS = 10
FEISTEL_ROUNDS = 6                  # each updates one half (a classic Feistel round); Luby-Rackoff need 4
CPU_CHUNK = 1 << 15                 # words per pass on CPU: the temporaries (<= 128 KB) stay in cache
GPU_CHUNK = 1 << 24                 # words per pass elsewhere: bounds the temporaries' memory (~1 GB)


def key_of(*parts):
    """A 64-bit Philox key (k0, k1) from a stable hash of parts (seed, layer, role, purpose): the same in every
    process, Python version and machine (unlike hash())."""
    digest = hashlib.blake2b('/'.join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], 'little'), int.from_bytes(digest[4:], 'little')


def _mulhilo(x, mh, ml):
    """(hi, lo) 32-bit words of x * m for 32-bit x (int64 tensor) and m = mh 2^16 + ml given as its 16-bit halves
    (broadcast): no product exceeds 2^48 + 2^32, so int64 never overflows."""
    a = x * mh                                              # < 2^48
    t = x * ml + ((a & 0xFFFF) << 16)                       # the product's low 48 bits, < 2^49
    return (a >> 16) + (t >> 32), t & MASK


def philox(key, c0, c1, c2, c3):
    """Philox-4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1): four 32-bit words as int64 tensors. Counter
    words are int64 tensors holding uint32, or ints; they broadcast together.
    Both multiplications of a round run as one op on x = the two multiplied words stacked, whose order alternates
    (c0, c2), (c2, c0), ...: then the next x is hi ^ y ^ key row by row, y being the previous low words reversed."""
    device = next((c.device for c in (c0, c1, c2, c3) if torch.is_tensor(c)), None)
    c0, c1, c2, c3 = torch.broadcast_tensors(*(torch.as_tensor(c, dtype=torch.int64, device=device)
                                               for c in (c0, c1, c2, c3)))
    rows = (2,) + (1,) * c0.dim()
    k = [((key[0] + r * W0) & MASK, (key[1] + r * W1) & MASK) for r in range(ROUNDS)]          # bumped keys
    ks = torch.tensor([(k1, k0) if r % 2 == 0 else (k0, k1) for r, (k0, k1) in enumerate(k)], device=c0.device)
    ms = torch.tensor([[(M0 >> 16, M1 >> 16), (M1 >> 16, M0 >> 16)],                         # [half][parity]
                       [(M0 & 0xFFFF, M1 & 0xFFFF), (M1 & 0xFFFF, M0 & 0xFFFF)]], device=c0.device)
    ks, (mh, ml) = ks.view(ROUNDS, *rows).unbind(), ms.view(2, 2, *rows).unbind()
    mh, ml = mh.unbind(), ml.unbind()
    x, y = torch.stack((c0, c2)), torch.stack((c3, c1))
    for r in range(ROUNDS):
        hi, lo = _mulhilo(x, mh[r % 2], ml[r % 2])         # even r: x = (c0, c2), odd r: x = (c2, c0)
        x = hi ^ y ^ ks[r]                                  # even r: (c2', c0') = (hi0 ^ c3 ^ k1, hi1 ^ c1 ^ k0)
        y = lo.flip(0)                                      # even r: (c1', c3') = (lo1, lo0)
    return x[0], y[1], x[1], y[0]                           # after 10 rounds x = (c0, c2), y = (c3, c1)


def _lanes(key, first, last, stream, device):
    """The four output words of counters first .. last-1 (counter c = (c low, c high, stream, 0)): 4 int64 tensors
    (..., last - first) holding uint32. stream is an int or an int64 tensor (S, 1) of streams."""
    ctr = torch.arange(first, last, device=device)
    c0, c1 = (ctr, 0) if last <= 1 << 32 else (ctr & MASK, ctr >> 32)
    return torch.broadcast_tensors(*philox(key, c0, c1, stream, 0))


def _words(key, start, count, stream, device):
    """Words start .. start+count-1 of the key's stream(s): word j is lane j % 4 of counter j // 4. Returns (count,)
    or (S, count) int64 holding uint32."""
    first, last = start // 4, (start + count + 3) // 4
    w = torch.stack(_lanes(key, first, last, stream, device), dim=-1).flatten(-2)       # (..., 4 * counters)
    return w[..., start - 4 * first:start - 4 * first + count]


def _fill(fn, key, n, stream, device, dtype, per_word=1):
    """Runs fn(key, start, count, stream, device) -> values of elements start .. start+count-1 chunk by chunk into one
    (n,) or (S, n) tensor (per_word elements per Philox word). Values depend on (key, index) only, so the chunking
    never shows in them."""
    lead = () if isinstance(stream, int) else (stream.shape[0],)
    out = torch.empty(*lead, n, dtype=dtype, device=device)
    step = max(1, (CPU_CHUNK if device.type == 'cpu' else GPU_CHUNK) * per_word // (lead[0] if lead else 1))
    for s in range(0, n, step):
        out[..., s:s + step] = fn(key, s, min(step, n - s), stream, device)
    return out


def _uniform(key, start, count, stream, device):
    return (_words(key, start, count, stream, device) >> 8).float().mul_(2.0 ** -24)   # exact: 24-bit integers


_SIGN_TABLES = {}                                                                  # device -> (256, 8) float32


def _signs(key, start, count, stream, device):
    first, last = start // 32, (start + count + 31) // 32                          # word j holds elements 32j .. 32j+31
    w = _words(key, first, last - first, stream, device)
    if device not in _SIGN_TABLES:  # row b: the ±1 of bits 0..7 of byte b; one lookup per byte, not 5 passes per bit
        _SIGN_TABLES[device] = ((torch.arange(256, device=device).unsqueeze(1) >> torch.arange(8, device=device)) & 1
                                ).float().mul_(2).sub_(1)
    b = (w.unsqueeze(-1) >> torch.tensor([0, 8, 16, 24], device=device)) & 255       # (..., words, 4), low byte first
    s = _SIGN_TABLES[device].index_select(0, b.flatten()).view(*b.shape[:-2], -1)  # (..., 32 words): bit i of a word
    return s[..., start - 32 * first:start - 32 * first + count]


LN2 = math.log(2)
LOG_C = [2 / (2 * k + 1) for k in range(11)]                          # ln m = sum_k 2 s^(2k+1) / (2k+1)
SIN_C = [(-1) ** k / math.factorial(2 * k + 1) for k in range(9)]    # Taylor series, |ψ| <= π/4
COS_C = [(-1) ** k / math.factorial(2 * k) for k in range(10)]


def _horner(x, coefs):
    """sum_k coefs[k] x^k, one tensor op at a time (no fused multiply-add)."""
    p = torch.full_like(x, coefs[-1])
    for c in reversed(coefs[:-1]):
        p = p.mul_(x).add_(c)
    return p


def _log(u):
    """ln u for float64 u > 0 from +, ×, ÷ and frexp only: u = m 2^e, m in [√½, √2), ln m = 2 atanh((m-1)/(m+1)) by
    its series (|s| <= 0.172, 11 terms: < 1e-17). Within 2 ulp64 of the library log."""
    m, e = torch.frexp(u)                                                          # m in [1/2, 1)
    small = m < math.sqrt(0.5)
    m = torch.where(small, m * 2, m)
    s = (m - 1) / (m + 1)
    return _horner(s * s, LOG_C).mul_(s).add_((e - small.int()).double().mul_(LN2))


def _cos_sin(w):
    """(cos θ, sin θ) of θ = 2π w / 2^32 for 32-bit words w, from + and × only: the quadrant q is read off the integer
    (exact), the rest ψ in [-π/4, π/4) goes through Taylor polynomials. Within 1e-15 of the library cos, sin."""
    q4 = (w + (1 << 29)) >> 30                                                     # nearest multiple of 2^30: 0..4
    psi = (w - (q4 << 30)).double().mul_(2 * math.pi * 2.0 ** -32)                 # θ - q π/2
    q, p2 = q4 & 3, psi * psi
    c, s = _horner(p2, COS_C), _horner(p2, SIN_C).mul_(psi)
    swap = (q & 1).bool()                                                          # rotate (c, s) by q quarter turns
    cos = torch.where(swap, s, c).mul_((1 - ((q + 1) & 2)).double())              # signs + - - + for q = 0 1 2 3
    sin = torch.where(swap, c, s).mul_((1 - (q & 2)).double())                    # signs + + - -
    return cos, sin


def _gaussian(key, start, count, stream, device):
    # elements 2p, 2p+1 come from words 2p (radius) and 2p+1 (angle): element 4c + 2h + t from lanes 2h, 2h+1 of
    # counter c (t = 0: cos, 1: sin), computed lane-wise so no (..., 4 * counters) int64 tensor is formed
    first, last = start // 4, (start + count + 3) // 4
    l0, l1, l2, l3 = _lanes(key, first, last, stream, device)
    u = torch.stack((l0, l2), dim=-1).double().add_(0.5).mul_(2.0 ** -32)            # (w + 1/2) / 2^32 in (0, 1)
    r = _log(u).mul_(-2.0).sqrt_()                                                  # sqrt(-2 ln u), (..., ctrs, 2)
    cos, sin = _cos_sin(torch.stack((l1, l3), dim=-1))
    z = torch.stack(((r * cos).float(), (r * sin).float()), dim=-1).flatten(-3)      # (..., 4 * counters)
    return z[..., start - 4 * first:start - 4 * first + count]


# name -> (values of elements start .. start+count-1, dtype, elements per word)
DRAWS = {'words': (_words, torch.int64, 1), 'uniform': (_uniform, torch.float32, 1),
         'signs': (_signs, torch.float32, 32), 'gaussian': (_gaussian, torch.float32, 1)}


def _draw_impl(kind: str, k0: int, k1: int, n: int, streams: List[int], batched: bool,
               device: torch.device) -> torch.Tensor:
    fn, dtype, per_word = DRAWS[kind]
    stream = torch.tensor(streams, device=device).view(-1, 1) if batched else streams[0]
    return _fill(fn, (k0, k1), n, stream, device, dtype, per_word)


# under torch.compile a draw is one opaque custom op: the graph gets a single node, neither tracing the hundreds of
# small ops inside nor fusing them (which could move a Gaussian by an ulp); eager calls run the same function
# directly (a custom op's first eager call would import torch._dynamo, seconds of startup)
_draw_op = torch.library.custom_op('nanoreparam::philox_draw', _draw_impl, mutates_args=())


@_draw_op.register_fake
def _draw_shape(kind, k0, k1, n, streams, batched, device):
    return torch.empty(*((len(streams),) if batched else ()), n, dtype=DRAWS[kind][1], device=device)


def _draw(kind, key, n, device, stream):
    streams = [int(s) for s in stream] if not isinstance(stream, int) else [stream]
    device = torch.device(device) if device is not None else torch.empty(0).device        # None: the default device
    # on the meta device (sweep.py's estimates build models there) a draw is its shape: no values to compute
    draw = _draw_op if torch.compiler.is_compiling() else _draw_shape if device.type == 'meta' else _draw_impl
    return draw(kind, key[0], key[1], n, streams, not isinstance(stream, int), device)


def words(key, n, device=None, stream=0):
    """(n,) int64: the first n 32-bit words of the key's stream (a list of streams: (S, n)). device None: torch's
    default device."""
    return _draw('words', key, n, device, stream)


def uniform(key, n, device=None, stream=0):
    """(n,) float32 uniform on {0, 1, ..., 2^24 - 1} / 2^24: the top 24 bits of each word. Bit-exact everywhere."""
    return _draw('uniform', key, n, device, stream)


def signs(key, n, device=None, stream=0):
    """(n,) float32 ±1: element i is bit i % 32 of word i // 32. Bit-exact everywhere."""
    return _draw('signs', key, n, device, stream)


def gaussian(key, n, device=None, stream=0):
    """(n,) float32 standard normal: Box-Muller in float64 from IEEE-754 basic ops only, rounded to float32
    (see the module docstring for why it is the same on every device)."""
    return _draw('gaussian', key, n, device, stream)


# -----------------------------------------------------------------------------
# the permutation

def _feistel_tables(key, n, device):
    """(b, lo_bits, tables (FEISTEL_ROUNDS, 2^lo_bits)): round r's function F_r, masked to the half it updates."""
    b = (n - 1).bit_length()                                                        # 2^b >= n > 2^(b-1)
    lo_bits = (b + 1) // 2
    hi_bits = b - lo_bits
    streams = torch.arange(FEISTEL_ROUNDS, device=device).view(-1, 1)
    tables = _words(key, 0, 1 << lo_bits, streams, device)                          # (R, 2^lo_bits)
    masks = torch.tensor([(1 << (hi_bits if r % 2 else lo_bits)) - 1 for r in range(FEISTEL_ROUNDS)], device=device)
    return b, lo_bits, tables & masks.view(-1, 1)


def _feistel(tables, lo_bits, x, inverse):
    lo, hi = x & ((1 << lo_bits) - 1), x >> lo_bits
    for r in (reversed(range(FEISTEL_ROUNDS)) if inverse else range(FEISTEL_ROUNDS)):
        if r % 2:
            hi = hi ^ tables[r].index_select(0, lo)                                 # hi ^= F_r(lo)
        else:
            lo = lo ^ tables[r].index_select(0, hi)                                 # lo ^= F_r(hi)
    return (hi << lo_bits) | lo


def _walk(key, n, idx, inverse):
    if n > 1 << 32:
        raise ValueError(f'perm: n={n} is above 2^32')
    device = idx.device
    b, lo_bits, tables = _feistel_tables(key, n, device)
    shape, idx = idx.shape, idx.reshape(-1).long()
    out = torch.empty_like(idx)
    step = CPU_CHUNK // 2 if device.type == 'cpu' else GPU_CHUNK
    for s in range(0, idx.numel(), step):
        y = _feistel(tables, lo_bits, idx[s:s + step], inverse)
        if n != 1 << b:                                                             # cycle-walk back into 0..n-1
            todo = (y >= n).nonzero().squeeze(1)
            while todo.numel():
                z = _feistel(tables, lo_bits, y[todo], inverse)
                y[todo] = z
                todo = todo[z >= n]
        out[s:s + step] = y
    return out.view(shape)


def _perm_impl(k0: int, k1: int, n: int, idx: torch.Tensor, inverse: bool) -> torch.Tensor:
    return _walk((k0, k1), n, idx, inverse)


_perm_op = torch.library.custom_op('nanoreparam::philox_perm', _perm_impl, mutates_args=())


@_perm_op.register_fake
def _(k0, k1, n, idx, inverse):
    return torch.empty_like(idx, dtype=torch.int64)


def perm(key, n, idx):
    """perm[idx] for the key's pseudo-random permutation of 0..n-1; idx: int tensor of indices in [0, n), any shape.
    int64, idx's shape, on idx's device. (Π v)[i] = v[perm[i]] is a gather with it."""
    return (_perm_op if torch.compiler.is_compiling() else _perm_impl)(key[0], key[1], n, idx, False)


def _perm_mod_impl(key, n, m, device):
    # n = 2^b, m <= 2^lo_bits: perm[i] mod m is the low bits of the final lo half. Round 0 (lo ^= F_0(hi)) runs on
    # whole rows of the (hi, lo) grid of i, a broadcast instead of a gather; the last round only updates hi, so it
    # and the recombination are skipped: 4 gathers per index where perm takes 6. The halves have <= 16 bits, so the
    # rounds run in int32 (half the memory traffic of int64, same values) on chunks of 2^16 indices (256 KB each).
    b, lo_bits, tables = _feistel_tables(key, n, device)
    tables, width = tables.int(), 1 << lo_bits
    out = torch.empty(n, dtype=torch.int64, device=device)
    rows = max(1, (CPU_CHUNK * 2 if device.type == 'cpu' else GPU_CHUNK) // width)
    lo0 = torch.arange(width, dtype=torch.int32, device=device)                     # (C,)
    for h0 in range(0, n >> lo_bits, rows):
        hi = torch.arange(h0, min(h0 + rows, n >> lo_bits), dtype=torch.int32, device=device)   # (R,)
        lo = lo0 ^ tables[0].index_select(0, hi).unsqueeze(1)                       # (R, C) after round 0
        hi = hi.unsqueeze(1).expand_as(lo)
        for r in range(1, FEISTEL_ROUNDS - 1):
            if r % 2:
                hi = hi ^ tables[r].index_select(0, lo.flatten()).view_as(lo)
            else:
                lo = lo ^ tables[r].index_select(0, hi.flatten()).view_as(lo)
        torch.bitwise_and(lo.flatten(), m - 1, out=out[h0 * width:h0 * width + lo.numel()])
    return out


def perm_mod(key, n, m, device=None):
    """perm[i] mod m for i = 0 .. n-1, m a power of two: (n,) int64, equal to perm(key, n, arange(n)) & (m - 1).
    The Fastfood projection's tile/fold trick reads only these bits; for n a power of two and m <= 2^ceil(b/2) they
    cost 4 table gathers per index instead of 6 (_perm_mod_impl). Elsewhere (and under torch.compile) it is perm's."""
    device = torch.device(device) if device is not None else torch.empty(0).device
    b = (n - 1).bit_length()
    if torch.compiler.is_compiling() or n != 1 << b or m > 1 << (b + 1) // 2 or FEISTEL_ROUNDS % 2:
        return perm(key, n, torch.arange(n, device=device)) & (m - 1)
    return _perm_mod_impl(key, n, m, device)


def perm_inverse(key, n, idx):
    """perm^-1[idx]: perm_inverse(key, n, perm(key, n, i)) == i."""
    return (_perm_op if torch.compiler.is_compiling() else _perm_impl)(key[0], key[1], n, idx, True)
