"""report.py: power-law fits recover known exponents; figures and report.md are written from results.jsonl."""
import json
import math
import re

import numpy as np
import pytest

from conftest import REPO, run

import report
import sweep


def synthetic_row(name, family, seed, C, loss, params, tokens=1_000_000, target=None):
    """A results.jsonl row as sweep.py writes it, for a run of compute C ending at `loss`."""
    row = dict.fromkeys(sweep.ROW_FIELDS)
    curve = [dict(iter=i * 100, tokens=tokens * i // 4, val_loss=loss * (1 + 0.5 * (4 - i) / 4), train_loss=loss,
                  val_bpb=loss / math.log(2), C_train=C * i / 4, C_actual=2 * C * i / 4, C_frozen_2_3=C * i / 4,
                  seconds=10.0 * i) for i in range(5)]
    hit = next((p for p in curve if target is not None and p['val_loss'] <= target), None)
    row.update(sweep='synth', name=name, run=f'{name}-s{seed}', family=family, seed=seed, overrides={},
               config_files=[], status='ok', returncode=0, resumed=False, trainable=params + 1000,
               trainable_embedding=1000, trainable_nonembedding=params, frozen=0, emulated_nonembedding=params,
               checkpoint_bytes=4 * (params + 1000), iters=400, tokens=tokens, C_train=C, C_actual=2 * C,
               C_frozen_2_3=C, C_frozen_0=C, final_val_loss=loss, best_val_loss=loss, final_train_loss=loss,
               final_val_bpb=loss / math.log(2), best_val_bpb=loss / math.log(2), wall_time=40.0 + seed,
               train_seconds=40.0, peak_mem=(300 + seed) * 2 ** 20, peak_mem_kind='max_rss', target_loss=target,
               iter_to_target=hit and hit['iter'], tokens_to_target=hit and hit['tokens'],
               time_to_target=hit and hit['seconds'], C_train_to_target=hit and hit['C_train'],
               C_actual_to_target=hit and hit['C_actual'], curve=curve)
    return row


def write_results(folder, rows):
    folder.mkdir(parents=True)
    with open(folder / 'results.jsonl', 'w') as f:
        for r in rows:
            f.write(json.dumps(r) + '\n')


def test_a_noisy_synthetic_power_law_is_recovered_within_two_percent_and_the_report_is_written(tmp_path):
    rng = np.random.default_rng(0)
    a, b = 12.0, 0.076
    rows = []
    for i, C in enumerate(np.geomspace(1e12, 1e18, 8)):       # six decades of compute, 8 sizes x 3 seeds
        for seed in (1, 2, 3):
            loss = a * C ** -b * math.exp(rng.normal(0, 0.01))  # 1% multiplicative noise
            rows.append(synthetic_row(f'size{i}', 'dense', seed, float(C), loss, params=10 ** (3 + i), target=3.0))
    rows.append(dict(synthetic_row('broken', 'dense', 1, 1e12, 5.0, 10), status='failed',
                     error='error: n_embd=33 is not divisible by n_head=2'))
    out = tmp_path / 'synth'
    write_results(out, rows)

    r = run('report.py', str(out))
    assert r.returncode == 0, r.stderr
    for name in report.FIGURES:
        assert (out / name).stat().st_size > 1000, name
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    md = (out / 'report.md').read_text()
    fit_line = next(l for l in md.splitlines() if l.startswith('| dense | C_train | final points | 8 |'))
    b_fit, b_se = map(float, re.search(r'\| ([\d.]+) ± ([\d.]+) \|', fit_line).groups())
    assert b_fit == pytest.approx(b, rel=0.02)
    assert 0 < b_se < 0.01
    # C_actual = 2 C_train here: the same exponent
    assert re.search(rf'\| dense \| C_actual \| final points \| 8 \| {b_fit:.4f} ± ', md)
    # three seeds per run: mean ± std; the failed seed is listed with its error, not averaged in
    assert re.search(r'\| size0 \| dense \| 3 \| 1,000 \| 2,000 \|', md)
    assert re.search(r'\| size0 \| .* \| \d\.\d{4} ± 0\.\d{4} \|', md)
    assert '| broken-s1 | `error: n_embd=33 is not divisible by n_head=2` |' in md
    for name in report.FIGURES:
        assert f']({name})' in md


def test_fits_recover_exponents_and_the_offset():
    C = np.geomspace(1e10, 1e16, 12)
    pure = report.fit_power_law(C, 7.0 * C ** -0.05)
    assert pure['b'] == pytest.approx(0.05, rel=1e-9) and pure['a'] == pytest.approx(7.0, rel=1e-9)
    assert pure['se_b'] < 1e-9                                 # exact data: no uncertainty
    rng = np.random.default_rng(1)
    L = (1.5 + 40.0 * C ** -0.12) * np.exp(rng.normal(0, 0.002, len(C)))
    off = report.fit_power_law_offset(C, L)
    assert off['L_inf'] == pytest.approx(1.5, abs=0.05) and off['b'] == pytest.approx(0.12, rel=0.05)
    naive = report.fit_power_law(C, L)                         # ignoring the floor underestimates the exponent
    assert naive['b'] < 0.5 * off['b']
    assert report.fit_power_law_offset(C[:3], L[:3]) is None   # three points cannot fix three parameters


def test_each_run_is_compared_with_another_familys_line_at_its_own_compute_and_extrapolation_is_marked(tmp_path):
    """LightOn's reading: a doped or structured run against the dense line at the same compute, not only against one
    dense run; a run past the line's range is marked, since the line there is an extrapolation."""
    line = lambda C: 12.0 * C ** -0.076
    rows = [synthetic_row(f'dense_L{L}', 'dense', 1, C, line(C), params=L * 1000)
            for L, C in ((1, 1e12), (2, 2e12), (4, 4e12), (8, 8e12))]
    rows += [synthetic_row('doped', 'doped', s, 3e12, line(3e12) - 0.05 + d, params=2000)
             for s, d in ((1, 0.01), (2, -0.01))]
    rows += [synthetic_row('tiny', 'fastfood', 1, 1e11, line(1e11) + 0.2, params=20)]
    groups = report.aggregate(rows, 'final_val_loss')
    fits = {x: report.family_fits(groups, x, 'final_val_loss') for x in ('C_train', 'C_actual')}
    res = report.line_residuals(groups, fits)
    g, doped = res[('dense', 'synth', 'doped')]
    assert doped['C_train'] == (pytest.approx(-0.05, abs=1e-9), False)    # the mean of its two seeds, inside the range
    assert doped['C_actual'][0] == pytest.approx(-0.05, abs=1e-9)        # C_actual = 2 C_train for every run here
    assert res[('dense', 'synth', 'tiny')][1]['C_train'] == (pytest.approx(0.2, abs=1e-9), True)   # 10x below
    assert not any(fam != 'dense' for fam, _, _ in res)                  # a family of one run is no line
    assert not any(name.startswith('dense') for _, _, name in res)       # nor is a run compared with its own line
    out = tmp_path / 'lines'
    write_results(out, rows)
    assert run('report.py', str(out)).returncode == 0
    md = (out / 'report.md').read_text()
    assert '| dense | doped | doped | 2 | -0.0500 | -0.0500 |' in md and '| dense | tiny | fastfood | 1 | +0.2000* |' in md


def test_the_pareto_frontier_keeps_runs_no_smaller_run_beats():
    pts = [dict(x=5, y=3.0, name='five'), dict(x=0, y=3.2, name='emb'), dict(x=1000, y=3.1, name='worse'),
           dict(x=2000, y=2.0, name='dense'), dict(x=50, y=2.9, name='basis')]
    assert [p['name'] for p in report.pareto(pts)] == ['emb', 'five', 'basis', 'dense']


def test_families_with_a_single_run_are_fitted_on_their_curves_and_time_to_target_is_reported(tmp_path):
    rows = [synthetic_row('dense', 'dense', 1, 1e15, 2.0, 10 ** 6, target=2.6),
            dict(synthetic_row('lora', 'lora', 1, 1e14, 2.5, 10 ** 5, target=2.6), frozen=10 ** 6),
            synthetic_row('five', 'intrinsic', 1, 1e9, 3.5, 5, target=2.6),
            synthetic_row('d10', 'intrinsic', 1, 1e9 * 1.0001, 3.45, 10, target=2.6),   # same compute, other d
            synthetic_row('d100', 'intrinsic', 1, 1e9 * 1.0002, 3.40, 100, target=2.6)]
    out = tmp_path / 'one'
    write_results(out, rows)
    r = run('report.py', str(out), '--metric=best_val_loss')
    assert r.returncode == 0, r.stderr
    md = (out / 'report.md').read_text()
    assert '| dense | C_train | eval curve |' in md
    assert '| intrinsic | C_train | runs do not span compute | 0 | - |' in md   # 3 runs of ~equal compute
    assert re.search(r'\| dense \| dense \| 1 \| .* \| 20 \| 41 \| 301 \|', md)     # time to target, wall, MiB
    assert re.search(r'\| five \| intrinsic \| 1 \| .* \| - \(not reached\) \|', md)
    # a run with frozen weights adds LightOn's view: frozen weights at 2/3 the cost of trainable ones
    assert (out / 'loss_vs_C_frozen_2_3.png').stat().st_size > 1000
    assert '| dense | C_frozen_2_3 | eval curve |' in md and '](loss_vs_C_frozen_2_3.png)' in md


def test_a_missing_results_folder_is_one_error_line(tmp_path):
    r = run('report.py', str(tmp_path / 'nope'))
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: '{tmp_path / 'nope'}' is not a folder; give results/<sweep> folders written by sweep.py"]


def test_runs_on_common_seeds_are_compared_paired_by_seed():
    """A seed moves every variant's loss together (data order), so a consistent 0.02 gap under a 0.1 spread
    between seeds is resolved by pairing, and a gap that flips sign with the seed is not."""
    shift = {1: 0.0, 2: 0.1, 3: -0.1}                                           # seed-to-seed spread, shared
    rows = [synthetic_row('base', 'dense', s, 1e15, 2.00 + shift[s], 10 ** 6) for s in (1, 2, 3)]
    rows += [synthetic_row('better', 'x', s, 1e15, 1.98 + shift[s] + 0.001 * s, 10 ** 5) for s in (1, 2, 3)]
    rows += [synthetic_row('noise', 'x', s, 1e15, 2.00 + shift[s] + (0.02, -0.02, 0.01)[s - 1], 10 ** 5)
             for s in (1, 2, 3)]
    rows += [synthetic_row('one_seed', 'x', 1, 1e15, 1.5, 10 ** 5)]               # nothing to pair with
    groups = report.aggregate(rows, 'final_val_loss')
    pairs = {(p['a'], p['b']): p for p in report.paired_differences(groups, 'final_val_loss')}
    assert set(pairs) == {('base', 'better'), ('base', 'noise'), ('better', 'noise')}
    p = pairs[('base', 'better')]
    assert p['n'] == 3 and p['mean'] == pytest.approx(0.018) and p['std'] == pytest.approx(0.001)
    assert p['ci95'] == pytest.approx(4.303 * 0.001 / math.sqrt(3)) and p['resolved']
    assert groups[0]['loss_std'] == pytest.approx(0.1)                            # unpaired, the spread hides it
    assert not pairs[('base', 'noise')]['resolved']
    md = report.markdown(['synth'], rows, groups, {}, [], 'final_val_loss', [], list(pairs.values()))
    assert '| base | better | 3 | 0.0180 ± 0.0010 | ±0.0025 | yes |' in md


def test_tuned_runs_are_reported_at_their_best_lr_with_an_lr_figure_and_edge_flags(tmp_path):
    """Grid on seed 1, other seeds at the best lr only: the tables, the pairs and the fits see the best-lr rows;
    every grid point is in the lr table and figure; a best point on the grid's edge is flagged."""
    def tuned(name, family, seed, mult, loss, params):
        row = synthetic_row(name, family, seed, 1e15, loss, params)
        return dict(row, run=f'{name}-lr{mult:g}-s{seed}', lr_mult=mult, learning_rate=3e-3 * mult)
    rows = [tuned('dense', 'dense', 1, m, loss, 10 ** 6) for m, loss in ((0.5, 2.10), (1.0, 2.00), (2.0, 2.05))]
    rows += [tuned('dense', 'dense', s, 1.0, 2.00 + 0.01 * s, 10 ** 6) for s in (2, 3)]
    rows += [tuned('lowrank', 'lowrank', 1, m, loss, 10 ** 5) for m, loss in ((0.5, 2.30), (1.0, 2.20), (2.0, 2.15))]
    rows += [dict(tuned('lowrank', 'lowrank', 1, 4.0, 9.0, 10 ** 5), status='failed', error='error: diverged')]
    rows += [tuned('lowrank', 'lowrank', 1, 8.0, 2.12, 10 ** 5)]               # the edge kept winning up to the bound
    rows += [tuned('lowrank', 'lowrank', s, 8.0, 2.12 + 0.01 * s, 10 ** 5) for s in (2, 3)]
    tuning = report.lr_tuning(rows)
    assert tuning[('synth', 'dense')]['best'] == 1.0 and not tuning[('synth', 'dense')]['edge']
    assert tuning[('synth', 'lowrank')]['best'] == 8.0 and tuning[('synth', 'lowrank')]['edge']
    assert tuning[('synth', 'lowrank')]['points'][4.0][1] == float('inf')    # a failed point loses
    groups = report.aggregate(report.at_best_lr(rows, tuning), 'final_val_loss')
    assert [(g['name'], g['seeds']) for g in groups] == [('dense', [1, 2, 3]), ('lowrank', [1, 2, 3])]
    assert groups[0]['loss'] == pytest.approx(2.02 - 0.01 / 3) and groups[1]['loss'] == pytest.approx(2.14 - 0.01 / 3)
    pair = report.paired_differences(groups, 'final_val_loss')[0]
    assert pair['n'] == 3 and pair['mean'] == pytest.approx(-0.12)           # paired at the best lr of each run

    out = tmp_path / 'synth'
    write_results(out, rows)
    r = run('report.py', str(out))
    assert r.returncode == 0, r.stderr
    assert 'lowrank: the best learning rate (x8) is an edge of its grid: widen it' in r.stdout
    md = (out / 'report.md').read_text()
    assert (out / 'lr_synth.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and '](lr_synth.png)' in md
    assert '| dense | 1 | 0.5: 2.1000, **1: 2.0000**, 2: 2.0500 | 1 | 0.003 |  |' in md
    assert '| lowrank | 1 | 0.5: 2.3000, 1: 2.2000, 2: 2.1500, 4: inf, **8: 2.1200** | 8 | 0.024 | **edge** |' in md
    assert re.search(r'\| dense \| dense \| 3 \|', md) and re.search(r'\| lowrank \| lowrank \| 3 \|', md)


def test_envelopes_keep_the_lowest_loss_reached_by_each_compute_over_every_curve():
    a = synthetic_row('a', 'fam', 1, 100.0, 2.0, params=10)      # curve losses 3.0, 2.75, 2.5, 2.25, 2.0 at C 0..100
    b = synthetic_row('b', 'fam', 1, 40.0, 1.0, params=10)       # 1.5, 1.375, 1.25, 1.125, 1.0 at C 0..40
    groups = report.aggregate([a, b], 'final_val_loss')
    env = report.envelopes(groups, 'C_train')
    assert env['fam'] == [(10.0, 1.375), (20.0, 1.25), (30.0, 1.125), (40.0, 1.0)]   # b's curve beats a's at every C
    assert all(y2 < y1 and x2 > x1 for (x1, y1), (x2, y2) in zip(env['fam'], env['fam'][1:]))


def test_report_writes_envelopes_and_perplexity_time_parameters_memory(tmp_path):
    rows = [dict(synthetic_row(f'r{i}', 'dense' if i < 2 else 'lowrank', 1, 10.0 ** (12 + i), 3.0 - 0.2 * i,
                               params=10 ** (4 + i), target=3.5), model_bytes=1000 * (i + 1),
                 activation_bytes_per_token=500.0) for i in range(4)]
    out = tmp_path / 'synth'
    write_results(out, rows)
    r = run('report.py', str(out))
    assert r.returncode == 0, r.stderr
    for name in ('envelope_C_train.png', 'envelope_C_actual.png'):
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    md = (out / 'report.md').read_text()
    assert '## Perplexity, time to target, parameters, memory' in md
    assert f'| r1 | dense | 1 | {math.exp(2.8):.2f} | 20 | 100,000 | 2,000 | 500 |' in md


def test_a_line_cut_by_a_kill_is_skipped_and_a_corrupt_line_is_named(tmp_path):
    from cli import UsageError, read_jsonl
    path = tmp_path / 'results.jsonl'
    path.write_text('{"run": "a"}\n{"run": "b"}\n{"run": "c", "cur')         # the last write was killed
    assert read_jsonl(path) == [{'run': 'a'}, {'run': 'b'}]
    path.write_text('{"run": "a"}\n{"run": \n{"run": "c"}\n')
    with pytest.raises(UsageError, match='results.jsonl line 2 is not JSON'):
        read_jsonl(path)
    assert read_jsonl(tmp_path / 'none.jsonl') == []


def test_gap_closed_divides_each_seed_by_that_seeds_own_references_at_the_same_budget():
    """A single-seed run against its seed's references, not the references' means: here seed 2's references sit
    0.2 above the means, so its run closes 11% of its own seed's gap and 0% of the mean gap."""
    emb, dense = {1: 3.0, 2: 3.2, 3: 2.8}, {1: 1.0, 2: 1.4, 3: 1.0}
    rows = [synthetic_row('emb', 'frozen', s, 1e12, emb[s], 10) for s in (1, 2, 3)]
    rows += [synthetic_row('dense', 'dense', s, 1e15, dense[s], 10 ** 6) for s in (1, 2, 3)]
    rows += [synthetic_row('x', 'basis', s, 1e12, emb[s] - 0.2, 100) for s in (1, 2, 3)]
    rows += [synthetic_row('one', 'basis', 2, 1e12, 3.0, 100)]
    long = [dict(synthetic_row(n + '_x4', f, s, 4e12, loss - 0.5, 10), budget=4)   # at 4x: its own references
            for n, f, ref in (('emb', 'frozen', emb), ('dense', 'dense', dense)) for s in (1, 2, 3)
            for loss in [ref[s]]]
    long += [dict(synthetic_row('x_x4', 'basis', s, 4e12, emb[s] - 0.5 - 0.9, 100), budget=4) for s in (1, 2, 3)]
    groups = report.aggregate(rows + long, 'final_val_loss')
    gaps = report.gap_closed(groups, {'synth': ['emb', 'dense']}, 'final_val_loss')
    assert gaps[('synth', 'one')] == (pytest.approx(0.2 / 1.8), None)
    assert gaps[('synth', 'x')][0] == pytest.approx((0.2 / 2.0 + 0.2 / 1.8 + 0.2 / 1.8) / 3)
    assert gaps[('synth', 'dense')][0] == pytest.approx(1.0) and gaps[('synth', 'emb')][0] == pytest.approx(0.0)
    assert gaps[('synth', 'x_x4')][0] == pytest.approx((0.9 / 2.0 + 0.9 / 1.8 + 0.9 / 1.8) / 3)
    md = report.markdown(['synth'], rows, groups, {}, [], 'final_val_loss', [], [], gaps=gaps)
    assert re.search(r'\| one \| basis \| 1 \| .* \| 3\.0000 \| 11\.1% \|', md)


def test_a_claim_holds_flips_or_stays_unresolved_by_its_paired_interval_at_each_budget():
    p = lambda mean, half: dict(mean=mean, ci95=half, n=3)
    assert report.verdict(p(-0.05, 0.02), 'a<b') == 'holds' and report.verdict(p(0.05, 0.02), 'a<b') == 'flips'
    assert report.verdict(p(-0.01, 0.02), 'a<b') == 'unresolved' and report.verdict(p(0.05, 0.02), 'a>b') == 'holds'
    assert report.verdict(p(0.005, 0.01), 'a=b', margin=0.02) == 'holds'           # [-0.005, 0.015] inside ±0.02
    assert report.verdict(p(0.015, 0.01), 'a=b', margin=0.02) == 'unresolved'      # reaches past the margin
    assert report.verdict(p(0.05, 0.01), 'a=b', margin=0.02) == 'flips'            # wholly beyond it
    assert report.verdict(p(0.03, 0.01), 'a!=b', margin=0.02) == 'holds'           # clear of 0
    assert report.verdict(p(0.0, 0.01), 'a!=b', margin=0.02) == 'flips'            # inside the margin: alike
    assert report.verdict(None, 'a<b') == 'one seed'
    shift = {1: 0.0, 2: 0.1, 3: -0.1}
    rows = [synthetic_row('a', 'x', s, 1e12, 2.0 + shift[s], 10) for s in (1, 2, 3)]
    rows += [synthetic_row('b', 'y', s, 1e12, 2.1 + shift[s] + 0.001 * s, 10) for s in (1, 2, 3)]
    rows += [dict(synthetic_row('a_x4', 'x', s, 4e12, 1.8 + shift[s], 10), budget=4) for s in (1, 2, 3)]
    rows += [dict(synthetic_row('b_x4', 'y', s, 4e12, 1.7 + shift[s] + 0.001 * s, 10), budget=4) for s in (1, 2, 3)]
    claim = dict(claim='a beats b', source='paper', a='a', b='b', holds_if='a<b')
    rows_ = report.verdicts(report.aggregate(rows, 'final_val_loss'), {'synth': [claim]}, 'final_val_loss')
    assert [(v['budget'], v['verdict']) for v in rows_] == [('1', 'holds'), ('4', 'flips')]
    assert rows_[0]['pair']['mean'] == pytest.approx(-0.102)


def test_report_reads_the_sweep_file_s_claims_and_gap_and_prints_the_verdicts(tmp_path):
    rows = [synthetic_row(n, n, s, 1e12, loss + 0.01 * s * (n == 'b'), 10)
            for n, loss in (('lo', 3.0), ('hi', 1.0), ('b', 2.5)) for s in (1, 2, 3)]
    out = tmp_path / 'synth'
    write_results(out, rows)
    (out / 'sweep.json').write_text(json.dumps(dict(name='synth', gap=['lo', 'hi'], long=None, claims=[
        dict(claim='b closes a quarter of the gap', source='someone', a='b', b='lo', holds_if='a<b')])))
    r = run('report.py', str(out))
    assert r.returncode == 0, r.stderr
    assert 'holds      x1: b closes a quarter of the gap (b vs lo)' in r.stdout
    md = (out / 'report.md').read_text()
    assert '| b closes a quarter of the gap | someone | b | lo | 1 | 3 | -0.4800 ± 0.0100 | ±0.0248 | **holds** |' in md
    assert re.search(r'\| b \| b \| 3 \| .* \| 2\.5200 ± 0\.0100 \| 24\.0% ± 0\.5% \|', md)


def bisected_folder(tmp_path):
    """A results folder as sweep.py's tuned bisection writes it (run_bisect on synthetic losses: the references 2.3
    and 1.5, a probe 2.3 - 0.8 log10(d) / 5, each + 0.1 |log2 lr| + 0.01 (seed - 1)): (folder, bisect.json)."""
    out = tmp_path / 'synth'
    out.mkdir()
    s = sweep.Sweep(name='synth', path='t.py', base_files=[], base={}, runs=[], seeds=[1, 2, 3], mode='bisect',
                    bisect=dict(key='intrinsic_dim', lo=5, hi=100000, ratio=2, run=dict(linear='intrinsic'),
                                low_ref=dict(name='embeddings_only', linear='frozen'), high_ref=dict(name='dense'),
                                metric='final_val_loss'), lr_grid=[0.5, 1, 2], lr_grid_max_extend=0)
    sweep.check_bisect(s, set())

    class Runner:  # sweep.Runner without training: a synthetic row per run, best at lr x1, later seeds worse
        results, stopping, rows = out, False, {}

        def run_all(self, runs, follow=None):
            queue, out = list(runs), {}
            while queue:
                r = queue.pop(0)
                loss = {'embeddings_only': 2.3, 'dense': 1.5}.get(r.name) or 2.3 - 0.8 * math.log10(r.bisect_value) / 5
                loss += 0.1 * abs(math.log2(r.lr_mult)) + 0.01 * (r.seed - 1)
                out[r.id] = self.rows.setdefault(r.id, dict(synthetic_row(r.name, 'intrinsic', r.seed, 1e12, loss,
                                                                          1000), run=r.id, lr_mult=r.lr_mult,
                                                            bisect_value=r.bisect_value, learning_rate=3e-3 * r.lr_mult,
                                                            overrides=r.overrides))
                queue[:0] = follow(r, out[r.id]) if follow else []
            return out

    runner = Runner()
    b = sweep.run_bisect(s, runner)
    lo, hi = b['bracket']
    assert lo < 10 ** 4.5 <= hi <= 2 * lo and b['at_seeds']['holds']
    with open(out / 'results.jsonl', 'w') as f:
        for row in runner.rows.values():
            f.write(json.dumps(row) + '\n')
    return out, b


def test_a_bisect_folder_gets_a_loss_vs_value_figure_and_a_section_with_the_definition_and_the_seeds(tmp_path):
    """bisect.json and the rows as sweep.py's tuned bisection writes them: the figure bisect_<sweep>.png, the
    definition next to Li et al.'s, every probe on the seed means, every seed."""
    out, b = bisected_folder(tmp_path)
    lo, hi = b['bracket']
    r = run('report.py', str(out))
    assert r.returncode == 0, r.stderr
    assert (out / 'bisect_synth.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    md = (out / 'report.md').read_text()
    assert '](bisect_synth.png)' in md
    assert 'at its best learning rate closes 90% of the final_val_loss gap between `embeddings_only` and `dense`' in md
    assert 'Li, Farkhoor, Liu, Yosinski 2018 ("Measuring the Intrinsic Dimension of Objective Landscapes")' in md
    assert "90% of the dense model's performance (accuracy)" in md
    assert f'**{hi}**; bracket {lo} < intrinsic_dim ≤ {hi} (hi/lo = {hi / lo:.2g}).' in md
    assert '| intrinsic_dim | final_val_loss on the mean of seeds 1, 2, 3 | lr multiplier | gap closed |' in md
    for v, loss in b['probes']:                          # every probe at its best lr, its seed mean, with its gap
        assert loss == pytest.approx(2.3 - 0.8 * math.log10(v) / 5 + 0.01)
        gap = (2.31 - loss) / 0.8
        assert f'| {v} | {loss:.4f} | 1 | {gap:.1%} |' in md
    top = 2.3 - 0.8 * math.log10(hi) / 5
    assert (f'| intrinsic_dim={hi} | {hi} | 1 | 1: {top:.4f}, 2: {top + 0.01:.4f}, 3: {top + 0.02:.4f} | '
            f'{top + 0.01:.4f} ± 0.0100 |') in md
    assert f"Target on the seed means: {2.31 - 0.9 * 0.8:.4f}; the bracket **holds**" in md


def test_runs_of_another_sweep_with_the_bisected_key_on_the_same_model_join_the_bisection_figure_and_section(tmp_path):
    """An elephant-like folder's intrinsic runs at d below the bisected range: each at its best lr, its gap against
    the references on its own seeds (a seed-1 run against seed 1's references: (2.3 - l) / 0.8, not the three-seed
    means'); a run of another training length or another variant (SAID) stays out."""
    out, b = bisected_folder(tmp_path)
    other = tmp_path / 'elsewhere'
    row = lambda d, seed, mult, loss, tokens=1_000_000: dict(
        synthetic_row(f'intrinsic_d{d}', 'intrinsic', seed, 1e12, loss, 1000, tokens=tokens), sweep='elsewhere',
        run=f'intrinsic_d{d}-lr{mult:g}-s{seed}', lr_mult=mult, overrides={'linear': 'intrinsic', 'intrinsic_dim': d})
    said = dict(row(70, 1, 1, 1.90), name='intrinsic_d70_said', run='intrinsic_d70_said-lr1-s1',
                overrides={'linear': 'intrinsic', 'intrinsic_dim': 70, 'intrinsic_said': True})
    write_results(other, [row(7, 1, 1, 2.26), row(7, 1, 2, 2.20), row(70, 1, 1, 2.00), row(70, 2, 1, 2.02),
                          row(700, 1, 1, 1.70, tokens=4_000_000), said])
    r = run('report.py', str(out), str(other), '--out', str(tmp_path / 'both'))
    assert r.returncode == 0, r.stderr
    md = (tmp_path / 'both' / 'report.md').read_text()
    assert 'Runs of elsewhere with `intrinsic_dim` on the same model and training' in md
    assert f'| elsewhere | 7 | 2 | 1 | 2.2000 | {(2.3 - 2.2) / 0.8:.1%} |' in md       # its best lr, one seed
    assert f'| elsewhere | 70 | 1 | 1, 2 | 2.0100 ± 0.0141 | {(2.305 - 2.01) / 0.8:.1%} |' in md
    assert '| elsewhere | 700 |' not in md                                         # 4x the tokens: another training
    assert md.count('| elsewhere | 70 |') == 1                                    # not SAID's d = 70 too
    assert (tmp_path / 'both' / 'bisect_synth.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_a_sweeps_cost_is_the_union_of_its_attempts_wall_time_and_the_sum_of_their_cpu(tmp_path):
    """Two runs in parallel, one of them interrupted and resumed a day later: the wall time counts the overlap once
    and not the day in between; an attempt from before CPU time was recorded is counted apart."""
    out = tmp_path / 'synth'
    write_results(out, [synthetic_row('a', 'dense', 1, 1e12, 2.0, 10), synthetic_row('b', 'dense', 1, 1e12, 2.1, 10)])
    day = 86400.0
    for name, attempts in (('a-s1', [dict(start=0.0, end=100.0, cpu=90.0), dict(start=day, end=day + 50, cpu=45.0)]),
                          ('b-s1', [dict(start=60.0, end=160.0), dict(start=day + 200, end=None)])):
        (out / name).mkdir()
        (out / name / 'sweep_attempts.json').write_text(json.dumps(attempts))
    assert report.sweep_cost(out) == dict(attempts=3, wall=160.0 + 50.0, cpu=135.0, unrecorded=1)
    r = run('report.py', str(out))
    assert r.returncode == 0, r.stderr
    assert ('Cost of `synth`: 210 s wall (while any of its 3 train.py attempts ran, over every session), 135 s CPU '
            '(user + sys), not counting 1 attempts made before sweep.py recorded CPU time.') in (out / 'report.md').read_text()


COMMITTED = sorted((REPO / 'docs' / 'runs').glob('*/results.jsonl'))


@pytest.mark.parametrize('rows_path', COMMITTED, ids=lambda p: p.parent.name)
def test_the_committed_rows_of_a_finished_sweep_give_the_numbers_docs_results_md_prints(rows_path):
    """docs/runs/<sweep>/ keeps a finished sweep's rows and claims. From them report.py's pipeline gives each run's
    best lr and tuned loss, and each claim's paired difference and verdict: docs/results.md prints those numbers."""
    doc = (REPO / 'docs' / 'results.md').read_text()
    rows = report.load_rows([rows_path.parent])
    assert rows and all(r['status'] == 'ok' for r in rows)
    tuning = report.lr_tuning(rows)
    groups = report.aggregate(report.at_best_lr(rows, tuning), 'final_val_loss')
    for g in groups:
        assert report.pm(g['loss'], g['loss_std']) in doc, g['name']
    for (_, name), t in tuning.items():
        assert not t['edge'], f'{name}: its best lr is an edge of its grid'
        assert f"**{t['best']:g}: {t['points'][t['best']][1]:.4f}**" in doc, name
    meta = json.loads((rows_path.parent / 'sweep.json').read_text())
    for v in report.verdicts(groups, {meta['name']: meta['claims']}, 'final_val_loss'):
        p = v['pair']
        assert f"{p['mean']:+.4f} ± {p['std']:.4f}".replace('-', '−') in doc, v['claim']
        assert f"±{p['ci95']:.4f} | {'**holds**' if v['verdict'] == 'holds' else v['verdict']} |" in doc, v['claim']
