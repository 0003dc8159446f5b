"""
Figures and a Markdown summary from sweep results: scaling-law fits, the parameter/loss Pareto frontier, time
to target and memory.

    python report.py results/elephant_cpu                       # writes results/elephant_cpu/{report.md, *.png}
    python report.py results/lighton_cpu results/sharing_cpu --out results/combined

Rows come from each folder's results.jsonl (sweep.py; the latest row of each run). Runs are grouped by name
over seeds (mean ± sample std wherever there are several) and by family (a run's `family`, by default its
`linear`). Per family, loss against compute is fitted with

    L = a C^-b            least squares of log L on log C; std errors from the fit covariance
    L = L_inf + a C^-b    L_inf by a grid search (then a finer one) below the smallest loss, a and b by the log
                          fit of L - L_inf at each L_inf; b's std error is the one at the best L_inf (it does not
                          include L_inf's own uncertainty, so it is an underestimate)

on the final point of each run (mean over seeds) when the family has at least three runs whose compute spans a
factor 2 or more, else, for a family of a single run, on its eval curve (evals past the first 10% of tokens: a learning-curve
exponent, not a scaling law; neighbouring points of one curve are not independent, so those errors are
optimistic); several runs of about equal compute are not fitted. Figures: loss_vs_C_train.png, loss_vs_C_actual.png,
loss_vs_params.png (with the Pareto frontier), curves.png, time_memory.png, and loss_vs_C_frozen_2_3.png when a
run has frozen weights.

Tuned runs (a sweep's lr_grid: rows with an lr_mult) are reported at their best learning rate, chosen as sweep.py
chose it (lowest final val loss on the seed the grid ran on): the tables, paired differences and fits use only the
best-lr rows; lr_<sweep>.png draws val loss against the learning rate per run, and a run whose best point is still an
edge of its grid is flagged. A sweep's long runs (sweep.py's `long`: <run>_x4, at 4x the reference's compute)
are reported as runs of their own.

From results/<sweep>/sweep.json (the sweep file's settings, written by sweep.py): `gap` adds a "gap closed" column,
each seed against its own seed's references; `claims` opens the report with a verdict table, one row per claim and
budget: a - b paired by seed, its 95% interval, and holds / flips / unresolved (see verdict).

A bisect sweep's folder (its bisect.json) adds a section with the definition, every probe and the seeds at the
bracket, and bisect_<sweep>.png: the bisected loss against the bisected value (log x), the two references and the
target as horizontal lines, the bracket's seed means with their std.
"""
import json
import math
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np

from cli import (ArgumentParser, NUMBER_FIELDS, RUN_FIELDS, UsageError, best_lr, exit_on_user_error, make_dir,
                 read_jsonl, run_loss)

FIGURES = ('loss_vs_C_train.png', 'loss_vs_C_actual.png', 'loss_vs_params.png', 'curves.png', 'time_memory.png')


# -----------------------------------------------------------------------------
# fits

def fit_power_law(C, L):
    """L = a C^-b by linear least squares in log space. Returns a, b, their std errors, n and the rms of
    the log residuals; std errors are nan with fewer than three points."""
    C, L = np.asarray(C, dtype=float), np.asarray(L, dtype=float)
    if len(C) < 2 or np.any(C <= 0) or np.any(L <= 0) or np.ptp(np.log(C)) == 0:
        return None
    X = np.stack([np.ones_like(C), -np.log(C)], axis=1)
    y = np.log(L)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    n = len(C)
    if n > 2:
        cov = resid @ resid / (n - 2) * np.linalg.inv(X.T @ X)
        se_loga, se_b = np.sqrt(np.diag(cov))
    else:
        se_loga = se_b = float('nan')
    a = math.exp(coef[0]) if coef[0] < 700 else float('inf')  # a steep fit over a short range
    return dict(form='power', a=a, se_a=a * se_loga, b=float(coef[1]), se_b=float(se_b), L_inf=0.0, n=n,
                rms=float(np.sqrt(np.mean(resid ** 2))))


def _fit_at(C, L, L_inf):
    fit = fit_power_law(C, L - L_inf)
    if fit is None:
        return None, float('inf')
    pred = np.log(L_inf + fit['a'] * C ** -fit['b'])
    return fit, float(np.sum((np.log(L) - pred) ** 2))


def fit_power_law_offset(C, L, grid=200):
    """L = L_inf + a C^-b without scipy: for each L_inf on a grid in [0, min L), fit log(L - L_inf) linearly
    and score the residuals of log L; then a finer grid around the best cell. Needs four points or more."""
    C, L = np.asarray(C, dtype=float), np.asarray(L, dtype=float)
    if len(C) < 4 or np.any(C <= 0) or np.any(L <= 0) or np.ptp(np.log(C)) == 0:
        return None
    top = L.min() * (1 - 1e-6)
    candidates = np.linspace(0.0, top, grid)
    for _ in range(3):
        scored = [(_fit_at(C, L, x)[1], x) for x in candidates]
        best_rss, best = min(scored)
        step = candidates[1] - candidates[0]
        candidates = np.linspace(max(0.0, best - step), min(top, best + step), 41)
    fit, rss = _fit_at(C, L, best)
    if fit is None or fit['b'] <= 0:
        return None
    fit.update(form='offset', L_inf=float(best), rms=math.sqrt(rss / len(C)))
    return fit


def pareto(points):
    """The points no other point beats on both axes (fewer or equal parameters and lower loss), by parameters."""
    front, best = [], float('inf')
    for p in sorted(points, key=lambda p: (p['x'], p['y'])):
        if p['y'] < best:
            front.append(p)
            best = p['y']
    return front


# -----------------------------------------------------------------------------
# rows

def load_rows(dirs):
    rows = []
    for d in dirs:
        path = Path(d) / 'results.jsonl'
        if not path.exists():
            raise UsageError(f'{path} not found: run python sweep.py config/sweeps/<name>.py first')
        records = read_jsonl(path)
        for i, r in enumerate(records, 1):
            if not isinstance(r, dict) or not set(RUN_FIELDS) - {'bisect_value'} <= set(r):
                raise UsageError(f'{path}: record {i} is not a sweep.py results row (it lacks run, status, ...); '
                                 f'give results/<sweep> folders written by sweep.py')
        rows += OrderedDict((r['run'], r) for r in records).values()
    if not rows:
        raise UsageError(f"no rows in {', '.join(str(Path(d) / 'results.jsonl') for d in dirs)}: no run has "
                         f"finished yet (sweep.py appends a row when a run ends)")
    return rows


def sweep_cost(d):
    """What a results folder cost, over every session of sweep.py that worked on it: wall = the seconds during which
    at least one of its train.py attempts ran (the union of the [start, end] of every attempt in every run folder's
    sweep_attempts.json, interrupted runs included), cpu = those attempts' user + sys seconds; attempts made before
    sweep.py recorded CPU time are counted in `unrecorded`."""
    spans, cpu, unrecorded = [], 0.0, 0
    for path in sorted(Path(d).glob('*/sweep_attempts.json')):
        for a in json.loads(path.read_text()):
            if a.get('end') is None:
                continue
            spans.append((a['start'], a['end']))
            if a.get('cpu') is None:
                unrecorded += 1
            else:
                cpu += a['cpu']
    wall, end = 0.0, float('-inf')
    for s, e in sorted(spans):
        wall += max(0.0, e - max(s, end))
        end = max(end, e)
    return dict(attempts=len(spans), wall=wall, cpu=cpu, unrecorded=unrecorded)


def mean_std(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None, 0
    m = sum(vals) / len(vals)
    s = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else None
    return m, s, len(vals)


def aggregate(rows, metric):
    """One entry per (sweep, run name): the ok seeds' mean and std of each number; failed seeds listed."""
    groups = OrderedDict()
    for r in rows:
        groups.setdefault((r['sweep'], r['name']), []).append(r)
    out = []
    for (sweep, name), rs in groups.items():
        ok = [r for r in rs if r['status'] == 'ok']
        g = dict(sweep=sweep, name=name, family=rs[0]['family'], seeds=[r['seed'] for r in ok],
                 failed=[r for r in rs if r['status'] != 'ok'], rows=ok, bisect_value=rs[0].get('bisect_value'))
        for k in NUMBER_FIELDS:
            g[k], g[k + '_std'], g[k + '_n'] = mean_std([r.get(k) for r in ok])
        g['loss'], g['loss_std'] = g[metric], g[metric + '_std']
        g['target_loss'] = rs[0].get('target_loss')
        g['peak_mem_kind'] = ok[0]['peak_mem_kind'] if ok else None
        out.append(g)
    return out


def lr_tuning(rows):
    """{(sweep, run name): dict(seed, points {lr_mult: (learning_rate, loss)}, best, edge)} for the tuned runs: their
    grid seed (the one with the most multipliers; the first in the file on a tie), its loss at each multiplier (inf:
    failed), the best multiplier as sweep.py picks it, and whether it is an edge of the grid that was run."""
    by_run = OrderedDict()
    for r in rows:
        if r.get('lr_mult') is not None and not r.get('budget'):  # a long run is at its run's best lr, not tuned
            by_run.setdefault((r['sweep'], r['name']), []).append(r)
    out = OrderedDict()
    for key, rs in by_run.items():
        seeds = list(OrderedDict.fromkeys(r['seed'] for r in rs))
        seed = max(seeds, key=lambda s: (len({r['lr_mult'] for r in rs if r['seed'] == s}), -seeds.index(s)))
        points = {r['lr_mult']: (r.get('learning_rate'), run_loss(r)) for r in rs if r['seed'] == seed}
        best = best_lr({m: loss for m, (_, loss) in points.items()})
        out[key] = dict(seed=seed, points=dict(sorted(points.items())), best=best,
                        edge=best is not None and len(points) > 1 and best in (min(points), max(points)))
    return out


def at_best_lr(rows, tuning):
    """The rows of untuned runs, of tuned runs those at their best multiplier, and the long runs (trained there)."""
    return [r for r in rows if r.get('lr_mult') is None or r.get('budget') or
            r['lr_mult'] == tuning[(r['sweep'], r['name'])]['best']]


# two-sided 95% quantiles of Student's t by degrees of freedom (n - 1); above 9 the df=10 value, a little wide
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def paired(a, b, metric):
    """a - b over the seeds both groups trained on: dict(n, mean, std, ci95, resolved), or None under two seeds."""
    la = {r['seed']: r.get(metric) for r in a['rows']}
    lb = {r['seed']: r.get(metric) for r in b['rows']}
    common = [s for s in la if s in lb and la[s] is not None and lb[s] is not None]
    if len(common) < 2:
        return None
    m, sd, n = mean_std([la[s] - lb[s] for s in common])
    half = T95.get(n - 1, 2.228) * sd / math.sqrt(n)       # half-width of the 95% interval of the mean
    return dict(a=a['name'], b=b['name'], n=n, mean=m, std=sd, ci95=half, resolved=abs(m) > half)


def paired_differences(groups, metric):
    """Loss differences between two runs of one sweep trained on the same seeds, paired by seed. A seed fixes
    the data order (and the draw of every shared random tensor), so most of the seed-to-seed spread of the loss
    cancels in the difference: two runs whose means sit inside each other's std can still differ consistently.
    One entry per pair with at least two common seeds: mean and sample std of (a - b), and whether a paired
    t-test rejects 'no difference' at 95%."""
    multi = [g for g in groups if len(g['rows']) >= 2]
    pairs = (paired(a, b, metric) for i, a in enumerate(multi) for b in multi[i + 1:] if a['sweep'] == b['sweep'])
    return [p for p in pairs if p]


def budget_suffix(g):
    """'' for a run at its sweep's budget, '_x4' for a long run at 4 times it (sweep.py's long phase)."""
    b = g['rows'][0].get('budget') if g['rows'] else None
    return f'_x{b:g}' if b else ''


def gap_closed(groups, gaps, metric):
    """{(sweep, name): (mean, std)} of (L_low - L) / (L_low - L_high) per seed, each seed against that seed's own
    low and high reference runs (a sweep's `gap`, at the same budget), then averaged over the run's seeds: dividing
    by seed-averaged references would mix one seed's run with other seeds' noise."""
    by_name = {(g['sweep'], g['name']): g for g in groups}
    out = {}
    for g in groups:
        gap = gaps.get(g['sweep'])
        if not gap or not g['rows']:
            continue
        lo, hi = (by_name.get((g['sweep'], ref + budget_suffix(g))) for ref in gap)
        if not lo or not hi:
            continue
        ref = [{r['seed']: r.get(metric) for r in x['rows']} for x in (lo, hi)]
        fracs = [(ref[0][r['seed']] - r[metric]) / (ref[0][r['seed']] - ref[1][r['seed']]) for r in g['rows']
                 if r.get(metric) is not None and ref[0].get(r['seed']) is not None and
                 ref[1].get(r['seed']) is not None and ref[0][r['seed']] != ref[1][r['seed']]]
        if fracs:
            out[(g['sweep'], g['name'])] = mean_std(fracs)[:2]
    return out


def verdict(p, holds_if, margin=None):
    """A claim's verdict from the paired 95% interval of a - b: 'holds' when the interval lies on the claimed side
    ('a<b': below 0; 'a>b': above 0; 'a=b': inside +-margin; 'a!=b': clear of 0), 'flips' when it lies wholly on
    the other side (beyond the margin for 'a=b', inside it for 'a!=b'), else 'unresolved'; under two paired seeds no
    verdict is drawn ('one seed')."""
    if p is None:
        return 'one seed'
    lo, hi = p['mean'] - p['ci95'], p['mean'] + p['ci95']
    inside, beyond = -margin <= lo and hi <= margin if margin else False, margin and (lo > margin or hi < -margin)
    if holds_if == 'a=b':
        return 'holds' if inside else 'flips' if beyond else 'unresolved'
    if holds_if == 'a!=b':
        return 'holds' if lo > 0 or hi < 0 else 'flips' if inside else 'unresolved'
    if holds_if == 'a>b':
        lo, hi = -hi, -lo
    return 'holds' if hi < 0 else 'flips' if lo > 0 else 'unresolved'


def verdicts(groups, claims, metric):
    """One row per claim (a sweep's `claims`) and budget: the paired a - b, its interval and the verdict."""
    by_name = {(g['sweep'], g['name']): g for g in groups}
    suffixes = sorted({budget_suffix(g) for g in groups}, key=lambda x: (x != '', x))
    out = []
    for sweep, cs in claims.items():
        for c in cs:
            for sfx in suffixes:
                a, b = by_name.get((sweep, c['a'] + sfx)), by_name.get((sweep, c['b'] + sfx))
                if not a or not b:
                    continue
                p = paired(a, b, metric)
                out.append(dict(c, sweep=sweep, budget=sfx[2:] or '1', pair=p,
                                verdict=verdict(p, c['holds_if'], c.get('margin')),
                                diff=a['loss'] - b['loss'] if a['loss'] is not None and b['loss'] is not None
                                else None))
    return out


def family_fits(groups, xkey, metric):
    """{family: (source, points (x, y), power fit, offset fit)} for loss against xkey (C_train or C_actual)."""
    fams = OrderedDict()
    for g in groups:
        if g['rows']:
            fams.setdefault(g['family'], []).append(g)
    out = OrderedDict()
    for fam, gs in fams.items():
        finals = [(g[xkey], g['loss']) for g in gs if g[xkey] and g['loss'] is not None and g[xkey] > 0]
        # final points when they span compute (at least 3 runs, a factor 2 between the extremes); a family of one
        # run: its eval curve (a learning curve, not a scaling law); several runs of about the same compute
        # (intrinsic d at equal C_actual): no fit, since pooling their curves would mix two axes
        if len({round(math.log(x), 6) for x, _ in finals}) >= 3 and \
                max(x for x, _ in finals) >= 2 * min(x for x, _ in finals):
            source, pts = 'final points', finals
        elif len(gs) == 1:
            source, pts = 'eval curve', []
            for r in gs[0]['rows']:
                total = r['tokens'] or 0
                pts += [(p[xkey], p['val_loss']) for p in r['curve']
                        if p.get(xkey) and p[xkey] > 0 and p['tokens'] > 0.1 * total]
        else:
            out[fam] = ('runs do not span compute', [], None, None)
            continue
        if len(pts) < 2:
            continue
        C, L = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        out[fam] = (source, pts, fit_power_law(C, L), fit_power_law_offset(C, L))
    return out


def line_residuals(groups, fits):
    """LightOn's comparison: each run's loss minus another family's power-law line (one fitted on final points, e.g.
    dense models of several sizes) at the run's own compute, for each compute measure.
    {(line family, sweep, run name): (group, {xkey: (residual, extrapolated: C outside the line's fitted range)})}."""
    out = OrderedDict()
    for xkey, fs in fits.items():
        for fam, (source, pts, fit, _) in fs.items():
            if source != 'final points' or not fit:
                continue
            lo, hi = min(x for x, _ in pts), max(x for x, _ in pts)
            for g in groups:
                if g['family'] != fam and g['loss'] is not None and g.get(xkey):
                    res = g['loss'] - fit['a'] * g[xkey] ** -fit['b']
                    out.setdefault((fam, g['sweep'], g['name']), (g, {}))[1][xkey] = (res, not lo <= g[xkey] <= hi)
    return out


# -----------------------------------------------------------------------------
# figures

def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path, ax=None):
    """Grid lines on ax (log axes get the minor ones), then the figure written and closed."""
    if ax is not None:
        ax.grid(True, which='both', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _plt().close(fig)


def colors_for(groups):
    fams = list(OrderedDict.fromkeys(g['family'] for g in groups))
    cmap = _plt().get_cmap('tab10')
    return {f: cmap(i % 10) for i, f in enumerate(fams)}


def plot_loss_vs_compute(groups, fits, xkey, color, metric, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for g in groups:
        for r in g['rows']:
            xs = [p[xkey] for p in r['curve'] if p.get(xkey) and p[xkey] > 0]
            ys = [p['val_loss'] for p in r['curve'] if p.get(xkey) and p[xkey] > 0]
            ax.plot(xs, ys, '-', color=color[g['family']], alpha=0.25, lw=1)
        if g[xkey] and g[xkey] > 0 and g['loss'] is not None:
            ax.errorbar(g[xkey], g['loss'], yerr=g['loss_std'], fmt='o', color=color[g['family']], ms=5, capsize=3)
    for fam, (source, pts, fit, off) in fits.items():
        if not pts:
            ax.plot([], [], 'o', color=color[fam], label=f'{fam}: no fit ({source})')
            continue
        xs = np.geomspace(min(p[0] for p in pts), max(p[0] for p in pts), 50)
        if fit:
            ax.plot(xs, fit['a'] * xs ** -fit['b'], '--', color=color[fam], lw=1.5,
                    label=f"{fam}: b={fit['b']:.3f}±{fit['se_b']:.3f} ({source})")
        else:
            ax.plot([], [], 'o', color=color[fam], label=fam)
    skipped = [g['name'] for g in groups if g['rows'] and not (g[xkey] and g[xkey] > 0)]
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlabel(f'{xkey} (FLOPs)')
    ax.set_ylabel(f'{metric} (nats/token)')
    title = f'loss vs {xkey}; dashed: L = a·C^-b per family; points: {metric} per run (mean ± std)'
    if skipped:
        title += f"\n(not on a log axis, {xkey}=0: {', '.join(skipped)})"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc='best')
    save_figure(fig, path, ax)


def plot_loss_vs_params(groups, front, color, metric, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    seen = set()
    for g in groups:
        if g['loss'] is None:
            continue
        fam = g['family']
        ax.errorbar(g['trainable_nonembedding'], g['loss'], yerr=g['loss_std'], fmt='o', color=color[fam],
                    ms=5, capsize=3, label=None if fam in seen else fam)
        seen.add(fam)
        ax.annotate(g['name'], (g['trainable_nonembedding'], g['loss']), fontsize=6, xytext=(3, 3),
                    textcoords='offset points')
    if front:
        ax.step([p['x'] for p in front], [p['y'] for p in front], where='post', color='k', lw=1, alpha=0.6,
                label='Pareto frontier')
    ax.set_xscale('symlog', linthresh=1)
    ax.set_xlabel('trainable non-embedding parameters (symlog)')
    ax.set_ylabel(f'{metric} (nats/token)')
    ax.set_title('loss vs trainable parameters (mean ± std over seeds)', fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path, ax)


def plot_curves(groups, color, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    styles, count = ['-', '--', ':', '-.'], {}
    for g in groups:
        k = count[g['family']] = count.get(g['family'], -1) + 1  # runs of one family: one colour, other dashes
        for i, r in enumerate(g['rows']):
            pts = [p for p in r['curve'] if p['tokens'] > 0]
            ax.plot([p['tokens'] for p in pts], [p['val_loss'] for p in pts], styles[k % 4], color=color[g['family']],
                    alpha=0.8, lw=1 + (k // 4) * 0.8, label=g['name'] if i == 0 else None)
    ax.set_xscale('log')
    ax.set_xlabel('tokens')
    ax.set_ylabel('val loss (nats/token)')
    ax.set_title('validation loss curves (every seed)', fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, path, ax)


def plot_time_memory(groups, color, path):
    plt = _plt()
    gs = [g for g in groups if g['rows']]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 0.35 * len(gs) + 1.5))
    y = np.arange(len(gs))
    target = next((g['target_loss'] for g in gs if g['target_loss'] is not None), None)
    a1.barh(y, [g['wall_time'] or 0 for g in gs], xerr=[g['wall_time_std'] or 0 for g in gs],
            color='lightgray', label='wall time')
    a1.barh(y, [g['time_to_target'] or 0 for g in gs], xerr=[g['time_to_target_std'] or 0 for g in gs],
            color=[color[g['family']] for g in gs], label=f'time to val loss ≤ {target}' if target else None)
    for i, g in enumerate(gs):
        if target is not None and g['time_to_target'] is None:
            a1.text(0, i, ' target not reached', va='center', fontsize=6)
    a1.set_yticks(y, [g['name'] for g in gs], fontsize=6)
    a1.set_xlabel('seconds')
    a1.legend(fontsize=6)
    kind = next((g['peak_mem_kind'] for g in gs if g['peak_mem_kind']), 'max_rss')
    a2.barh(y, [(g['peak_mem'] or 0) / 2 ** 20 for g in gs], xerr=[(g['peak_mem_std'] or 0) / 2 ** 20 for g in gs],
            color=[color[g['family']] for g in gs])
    a2.set_yticks(y, [''] * len(gs))
    a2.set_xlabel(f'peak memory (MiB, {kind})')
    for a in (a1, a2):
        a.invert_yaxis()
        a.grid(True, axis='x', alpha=0.3)
    save_figure(fig, path)


def plot_lr(tuning, sweep, path):
    """Val loss (on the grid seed) against the learning rate, one line per tuned run of `sweep`, the best point ringed."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    cmap = plt.get_cmap('tab10')
    for i, ((sw, name), t) in enumerate((k, t) for k, t in tuning.items() if k[0] == sweep):
        pts = [(lr, loss) for lr, loss in t['points'].values() if lr and math.isfinite(loss)]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker='o', color=cmap(i % 10), ms=4,
                ls=('-', '--', ':')[i // 10 % 3], label=name + (' (best on the edge)' if t['edge'] else ''))  # > 10 runs
        if t['best'] is not None:
            lr, loss = t['points'][t['best']]
            ax.plot([lr], [loss], 'o', ms=11, mfc='none', color=cmap(i % 10))
    ax.set_xscale('log')
    ax.set_xlabel('learning_rate (log)')
    ax.set_ylabel('final val loss (nats/token), grid seed')
    ax.set_title(f'{sweep}: val loss vs learning rate per run (ringed: best; failed points not drawn)', fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path, ax)


# -----------------------------------------------------------------------------
# markdown

def pm(m, s, fmt='{:.4f}'):
    if m is None:
        return '-'
    return fmt.format(m) + (f' ± {fmt.format(s)}' if s is not None else '')


def num(x):
    if x is None:
        return '-'
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f'{x:.3g}' if abs(x) >= 1e7 or (isinstance(x, float) and not float(x).is_integer()) else f'{int(x):,}'


def markdown(dirs, rows, groups, fits, front, metric, bisects, pairs, figures=FIGURES, tuning=None, gaps=None,
             verdict_rows=None):
    ok = sum(r['status'] == 'ok' for r in rows)
    lines = [f"# Sweep report: {', '.join(Path(d).name for d in dirs)}", '',
             f'{len(rows)} runs ({ok} ok, {len(rows) - ok} failed) from '
             f"{', '.join('`' + str(Path(d) / 'results.jsonl') + '`' for d in dirs)}. Loss = `{metric}` in nats/token; "
             f'mean ± sample std over seeds where a run has several (n = seeds). '
             'C_train = 6·N_trainable_nonembedding·tokens (frozen weights cost 0); C_actual = structural FLOPs '
             "(model.py); C_frozen_2_3 = C_train + 4·N_frozen·tokens (LightOn's frozen-at-2/3 view).", '']
    for d in dirs:
        c = sweep_cost(d)
        if c['attempts']:
            lines += [f"Cost of `{Path(d).name}`: {c['wall']:,.0f} s wall (while any of its {c['attempts']} train.py "
                      f"attempts ran, over every session), {c['cpu']:,.0f} s CPU (user + sys)"
                      + (f", not counting {c['unrecorded']} attempts made before sweep.py recorded CPU time"
                         if c['unrecorded'] else '') + '.', '']
    if verdict_rows:
        lines += ['## Verdicts', '',
                  "Each claim the sweep tests, as a − b in final loss over the seeds both runs trained on, at the sweep's "
                  'budget (1) and at the long runs\' (×4: the compute of 4 reference runs, every run at its own best lr '
                  'from the short budget). **holds**: the paired 95% interval lies on the claimed side of 0 (for "a = '
                  'b": inside ±margin); **flips**: it lies wholly on the other side (beyond the margin); '
                  '**unresolved**: neither; **one seed**: no verdict from a single seed.', '',
                  '| claim | source | a | b | budget | seeds | a − b | 95% | verdict |', '|---|---|---|---|---|---|---|---|---|']
        for v in verdict_rows:
            p = v['pair']
            lines.append(f"| {v['claim']} | {v.get('source', '')} | {v['a']} | {v['b']} | {v['budget']} | "
                         f"{p['n'] if p else 1} | "
                         f"{pm(p['mean'], p['std']) if p else pm(v['diff'], None)} | "
                         f"{'±' + format(p['ci95'], '.4f') if p else '-'} | **{v['verdict']}** |")
        lines.append('')
    if tuning:
        lines += ['## Learning rate', '',
                  'Tuned runs: final val loss on the grid seed at each multiplier of the base learning_rate (inf: the '
                  'run failed); the best one (bold) is the only one reported below, with the other seeds trained at '
                  'it. **edge**: the best point is still an edge of the grid, so the optimum may lie beyond it.', '',
                  '| run | seed | lr multiplier: loss | best | learning_rate | |', '|---|---|---|---|---|---|']
        for (sw, name), t in tuning.items():
            cells = ', '.join((f'**{m:g}: {loss:.4f}**' if m == t['best'] else f'{m:g}: {loss:.4f}')
                              for m, (_, loss) in t['points'].items())
            best = '-' if t['best'] is None else f"{t['best']:g}"
            lr = '-' if t['best'] is None else num(t['points'][t['best']][0])
            lines.append(f"| {name} | {t['seed']} | {cells} | {best} | {lr} | {'**edge**' if t['edge'] else ''} |")
        lines.append('')
    lines += ['## Runs', '',
              '| run | family | n | trainable non-emb | trainable total | frozen | emulated | tokens | C_train | '
              'C_actual | loss | gap closed | val bpb | time to target (s) | wall (s) | peak mem (MiB) |',
              '|' + '---|' * 16]
    for g in groups:
        if not g['rows']:
            continue
        lines.append(
            f"| {g['name']} | {g['family']} | {len(g['rows'])} | {num(g['trainable_nonembedding'])} | "
            f"{num(g['trainable'])} | {num(g['frozen'])} | {num(g['emulated_nonembedding'])} | {num(g['tokens'])} | "
            f"{num(g['C_train'])} | {num(g['C_actual'])} | {pm(g['loss'], g['loss_std'])} | "
            f"{pm(*[x and 100 * x for x in (gaps or {}).get((g['sweep'], g['name']), (None, None))], '{:.1f}%')} | "
            f"{pm(g['final_val_bpb'], g['final_val_bpb_std'])} | "
            f"{pm(g['time_to_target'], g['time_to_target_std'], '{:.0f}') if g['target_loss'] is not None else 'no target'}"
            f"{'' if g['time_to_target'] is not None or g['target_loss'] is None else ' (not reached)'} | "
            f"{pm(g['wall_time'], g['wall_time_std'], '{:.0f}')} | "
            f"{pm(g['peak_mem'] and g['peak_mem'] / 2 ** 20, g['peak_mem_std'] and g['peak_mem_std'] / 2 ** 20, '{:.0f}')} |")
    if gaps:
        lines += ['', "Gap closed: (L_low − L) / (L_low − L_high) between the sweep's two reference runs (its `gap`), "
                  "each seed against that seed's own references at the same budget, then mean ± std over seeds."]
    target = next((g['target_loss'] for g in groups if g['target_loss'] is not None), None)
    if target is not None:
        lines += ['', f'Target: val loss ≤ {target} (first eval that reaches it; time counts training seconds).']
    failed = [r for r in rows if r['status'] != 'ok']
    if failed:
        lines += ['', '## Failed runs', '', '| run | error |', '|---|---|']
        lines += [f"| {r['run']} | `{(r['error'] or '').replace('|', '/')}` |" for r in failed]
    if pairs:
        lines += ['', '## Differences paired by seed', '',
                  'a − b over the seeds both runs trained on (same data order and random tensors per seed): mean ± '
                  'sample std; "95%": half-width of the paired t interval of the mean; resolved = the interval '
                  'excludes 0.', '',
                  '| a | b | seeds | a − b | 95% | resolved |', '|---|---|---|---|---|---|']
        lines += [f"| {p['a']} | {p['b']} | {p['n']} | {pm(p['mean'], p['std'])} | ±{p['ci95']:.4f} | "
                  f"{'yes' if p['resolved'] else 'no'} |" for p in pairs]
    lines += ['', '## Power-law fits of loss against compute, per family', '',
              'L = a·C^-b (least squares in log space; ± = std error from the fit covariance) and '
              'L = L_inf + a·C^-b (L_inf by grid search; b\'s error is conditional on L_inf). Fewer than four '
              'points: no offset fit. "eval curve": a family of one run, fitted along its own learning curve (evals past '
              '10% of its tokens): a learning-curve exponent under one lr schedule, not a scaling law.', '',
              '| family | C | fitted on | points | b | a | rms log resid | b (offset form) | L_inf |',
              '|---|---|---|---|---|---|---|---|---|']
    for xkey, fs in fits.items():
        for fam, (source, pts, fit, off) in fs.items():
            lines.append(f"| {fam} | {xkey} | {source} | {len(pts)} | "
                         f"{pm(fit and fit['b'], fit and fit['se_b'])} | {num(fit and fit['a'])} | "
                         f"{'-' if not fit else format(fit['rms'], '.4f')} | "
                         f"{pm(off and off['b'], off and off['se_b'])} | {'-' if not off else format(off['L_inf'], '.4f')} |")
    residuals = line_residuals(groups, fits)
    if residuals:
        lines += ['', '## Against each line', '',
                  "Each run's loss minus a family's line L = a·C^-b (the fits above on final points) at the run's own "
                  'C: negative lies below the line, i.e. lower loss than that family at the same compute; * : the C '
                  "is outside the line's fitted range (extrapolated).", '',
                  '| line | run | family | n | ' + ' | '.join(fits) + ' |', '|---|---|---|---|' + '---|' * len(fits)]
        for (fam, _, name), (g, res) in residuals.items():
            cells = ' | '.join('-' if x not in res else f'{res[x][0]:+.4f}{"*" if res[x][1] else ""}' for x in fits)
            lines.append(f"| {fam} | {name} | {g['family']} | {len(g['rows'])} | {cells} |")
    lines += ['', '## Pareto frontier: trainable non-embedding parameters vs loss', '',
              'Runs that no other run beats with as few or fewer trainable non-embedding parameters.', '',
              '| trainable non-emb | loss | run | family |', '|---|---|---|---|']
    lines += [f"| {num(p['x'])} | {p['y']:.4f} | {p['name']} | {p['family']} |" for p in front]
    for d, b, others in bisects:
        lines += [''] + bisect_markdown(d, b, others)
    lines += ['', '## Figures', ''] + [f'![{f[:-4]}]({f})' for f in figures]
    return '\n'.join(lines) + '\n'


def same_key_runs(b, groups):
    """The runs of the other folders given that set the bisected key with the same other flags as the bisection's probes
    (not another projection, say), on its model and training (the same block weights D, embeddings and tokens as its
    high reference), at their best lr: [(value, group)]. They extend its figure and section below or above the
    bisected range (e.g. an elephant sweep's d = 5 ... 10^4 next to a bisection of d from 65,536)."""
    ref = next((g for g in groups if g['sweep'] == b.get('sweep') and g['name'] == b['high_ref'] and g['rows']), None)
    probe = next((g for g in groups if g['sweep'] == b.get('sweep') and g['rows'] and
                  b['key'] in g['rows'][0]['overrides']), None)
    if ref is None or probe is None:
        return []
    flags = lambda g: {k: v for k, v in g['rows'][0]['overrides'].items()   # the variant's flags: not its d or lr
                       if k not in (b['key'], 'learning_rate', 'min_lr')}
    same = lambda g: flags(g) == flags(probe) and all(g['rows'][0].get(k) == ref['rows'][0].get(k)
                                                      for k in ('emulated_nonembedding', 'trainable_embedding', 'tokens'))
    return sorted(((g['rows'][0]['overrides'][b['key']], g) for g in groups if g['sweep'] != b.get('sweep') and
                   g['rows'] and b['key'] in g['rows'][0]['overrides'] and same(g)), key=lambda p: p[0])


def gap_on_seeds(b, g):
    """The fraction of the bisection's gap a run closes against the references' mean on the run's own seeds (a
    one-seed run against that seed's references, not the three-seed means); None without those seeds' references."""
    losses = lambda name: ((b.get('at_seeds') or {}).get('runs', {}).get(name) or {}).get('losses', {})
    low, high = losses(b['low_ref']), losses(b['high_ref'])
    seeds = [str(s) for s in g['seeds']]
    if not seeds or any(low.get(s) is None or high.get(s) is None for s in seeds) or g[b['metric']] is None:
        return None
    lo, hi = (sum(ls[s] for s in seeds) / len(seeds) for ls in (low, high))
    return (lo - g[b['metric']]) / (lo - hi) if lo != hi else None


def bisect_markdown(d, b, others=()):
    """The section of one bisect.json (sweep.py run_bisect): the definition, the answer and bracket, every probe,
    every run's loss per seed, and the same-key runs of other folders (same_key_runs)."""
    key, metric, frac = b['key'], b['metric'], b['fraction']
    seed = f" on seed {b['seed']}" if b.get('seed') is not None else \
        f" on the mean of seeds {', '.join(map(str, b['seeds']))}" if b.get('seeds') else ''
    tuned = ' at its best learning rate' if b.get('lr_mult') else ''
    lines = [f'## Bisection ({Path(d).name})', '',
             f"Definition: the smallest `{key}` whose run{tuned} closes {frac:.0%} of the {metric} gap between "
             f"`{b['low_ref']}` and `{b['high_ref']}` (target = L_low − {frac:g} (L_low − L_high)), bisected in log "
             f"space{seed}."]
    if key == 'intrinsic_dim':
        lines[-1] += (f" Both references and the intrinsic model train the embeddings and norms directly, so this "
                      f"d_int{frac * 100:.0f} counts what the blocks need on top of them; Li, Farkhoor, Liu, Yosinski "
                      f"2018 (\"Measuring the Intrinsic Dimension of Objective Landscapes\") put every weight in "
                      f"θ = θ0 + Pα and ask for 90% of the dense model's performance (accuracy): a fraction of "
                      f"dense's score from zero, a looser bar than a fraction of the loss gap above a baseline that "
                      f"already trains the embeddings.")
    lo, hi = b.get('bracket') or (None, None)
    if b.get('reached'):
        where = f'{lo} < {key} ≤ {hi} (hi/lo = {hi / lo:.2g})' if lo is not None else f'{key} ≤ {hi}'
        lines += ['', f"Smallest `{key}` with {metric} ≤ {b['target']:.4f}{seed} ({frac:.0%} of the gap from "
                      f"{b['low_ref']} {b['low_ref_loss']:.4f} to {b['high_ref']} {b['high_ref_loss']:.4f}): "
                      f"**{b['answer']}**; bracket {where}." + (f" ({b['note']}.)" if b.get('note') else '')]
    else:
        lines += ['', f"No answer: {b.get('error') or b.get('note')}."]
    gap = lambda l: None if l is None or b.get('low_ref_loss') is None or b.get('high_ref_loss') in (
        None, b['low_ref_loss']) else (b['low_ref_loss'] - l) / (b['low_ref_loss'] - b['high_ref_loss'])
    lr = lambda name: '-' if (b.get('lr_mult') or {}).get(name) is None else f"{b['lr_mult'][name]:g}"
    lines += ['', f"| {key} | {metric}{seed} | lr multiplier | gap closed |", '|---|---|---|---|']
    for v, l in sorted(b.get('probes', []), key=lambda p: p[0]):
        lines.append(f"| {v} | {'-' if l is None else format(l, '.4f')} | {lr(f'{key}={v}')} | "
                     f"{'-' if gap(l) is None else format(gap(l), '.1%')} |")
    at = b.get('at_seeds')
    if at:
        lines += ['', f"Seeds {', '.join(map(str, at['seeds']))} at the references and the probes (the best lr "
                      f"of the first seed); mean ± sample std over the seeds where every one of these runs "
                      f"succeeded.", '',
                  f"| run | {key} | lr multiplier | {metric} per seed | mean ± std |", '|---|---|---|---|---|']
        for name, r in at['runs'].items():
            per = ', '.join(f"{s}: {'failed' if l is None else format(l, '.4f')}" for s, l in r['losses'].items())
            lines.append(f"| {name} | {'-' if r['value'] is None else r['value']} | "
                         f"{'-' if r['lr_mult'] is None else format(r['lr_mult'], 'g')} | {per} | "
                         f"{pm(r['mean'], r['std'])} |")
        if at['target'] is not None:
            lines += ['', f"Target on the seed means: {at['target']:.4f}; the bracket "
                          f"{'**holds**' if at['holds'] else '**does not hold**'} on them "
                          f"(the lower value's mean above the target, the upper one's at or below it)."]
    if others:
        lines += ['', f"Runs of {', '.join(OrderedDict.fromkeys(g['sweep'] for _, g in others))} with `{key}` on the "
                      f"same model and training (block weights, embeddings and tokens as `{b['high_ref']}`), each at "
                      f"its best lr; gap closed against the references' mean on the run's own seeds.", '',
                  f"| sweep | {key} | lr multiplier | seeds | {metric} mean ± std | gap closed |",
                  '|---|---|---|---|---|---|']
        for v, g in others:
            gap, lr_mult = gap_on_seeds(b, g), g['rows'][0].get('lr_mult')
            lines.append(f"| {g['sweep']} | {v} | {'-' if lr_mult is None else format(lr_mult, 'g')} | "
                         f"{', '.join(map(str, g['seeds']))} | {pm(g[metric], g[metric + '_std'])} | "
                         f"{'-' if gap is None else format(gap, '.1%')} |")
    return lines


def plot_bisect(b, path, others=()):
    """The bisected metric against the bisected value (log x): every probe at its best lr (the seed mean, or one
    seed's loss in a bisect.json from before decisions were made on means), the two references and the target as
    horizontal lines, the seed means with their std, and the same-key runs of other folders (same_key_runs)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    pts = sorted((v, l) for v, l in b.get('probes', []) if l is not None)
    seed = f"seed {b['seed']}" if b.get('seed') is not None else 'seed mean'
    ax.plot([p[0] for p in pts], [p[1] for p in pts], 'o-', color='C0', ms=5,
            label=f"probes ({seed}, {'best lr' if b.get('lr_mult') else 'one lr'})")
    lines = [(b.get('low_ref_loss'), f"{b['low_ref']} (low reference)", '-', 'C3'),
             (b.get('high_ref_loss'), f"{b['high_ref']} (high reference)", '-', 'C2'),
             (b.get('target'), f"target ({b['fraction']:.0%} of the gap)", '--', 'k')]
    for loss, label, style, color in lines:
        if loss is not None:
            ax.axhline(loss, ls=style, color=color, lw=1, label=f'{label} {loss:.4f}')
    at = b.get('at_seeds')
    if at:
        probed = [r for r in at['runs'].values() if r['value'] is not None and r['mean'] is not None]
        ax.errorbar([r['value'] for r in probed], [r['mean'] for r in probed],
                    yerr=[r['std'] or 0 for r in probed], fmt='none', color='C1', capsize=4,
                    label=f"± std over seeds {', '.join(map(str, at['seeds']))}")
        if at['target'] is not None and b.get('seed') is not None:  # a bisection decided on one seed
            ax.axhline(at['target'], ls=':', color='C1', lw=1, label=f"target on the seed means {at['target']:.4f}")
    if others:
        ax.errorbar([v for v, _ in others], [g[b['metric']] for _, g in others],
                    yerr=[g[b['metric'] + '_std'] or 0 for _, g in others], fmt='s', color='C4', ms=5, capsize=3,
                    label=f"{', '.join(OrderedDict.fromkeys(g['sweep'] for _, g in others))} (seed mean, best lr)")
    ax.set_xscale('log')
    ax.set_xlabel(f"{b['key']} (log)")
    ax.set_ylabel(f"{b['metric']} (nats/token)")
    answer = f"answer {b['answer']}" if b.get('reached') else 'no answer'
    ax.set_title(f"{b.get('sweep', '')}: {b['metric']} vs {b['key']} ({answer}, bracket {b.get('bracket')})",
                 fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path, ax)


def envelopes(groups, xkey):
    """Chatelain et al.'s loss-compute view: per family, the lower envelope of every (xkey, val loss) point of every
    eval of every run and seed, i.e. the lowest loss reached at or before each compute. {family: [(x, loss), ...]}."""
    out = OrderedDict()
    for g in groups:
        out.setdefault(g['family'], []).extend((p[xkey], p['val_loss']) for r in g['rows'] for p in r['curve']
                                                if p.get(xkey))
    return OrderedDict((fam, [(p['x'], p['y']) for p in pareto([dict(x=x, y=y) for x, y in pts])])
                       for fam, pts in out.items() if pts)


def plot_envelopes(env, xkey, color, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for fam, pts in env.items():
        ax.step([x for x, _ in pts], [y for _, y in pts], where='post', color=color[fam], label=fam)
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlabel(f'{xkey} (FLOPs)')
    ax.set_ylabel('val loss (nats/token)')
    ax.set_title(f'lower envelope of every learning curve per family, against {xkey}', fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path, ax)


def metrics_markdown(groups):
    """Gillis's four outputs per run: perplexity exp(loss), time to the target, trainable parameters and the
    model's own bytes (parameters + frozen buffers + gradients + optimizer state; activations saved per token)."""
    lines = ['## Perplexity, time to target, parameters, memory', '',
             '| run | family | n | perplexity | time to target (s) | trainable non-emb | model bytes | '
             'activation bytes/token |', '|---|---|---:|---:|---:|---:|---:|---:|']
    for g in groups:
        ppl = mean_std([math.exp(r['final_val_loss']) for r in g['rows'] if r.get('final_val_loss') is not None])
        mem, act = (mean_std([r.get(k) for r in g['rows']])[0] for k in ('model_bytes', 'activation_bytes_per_token'))
        ttt = g['time_to_target']
        lines.append(f"| {g['name']} | {g['family']} | {len(g['rows'])} | "
                     f"{pm(ppl[0], ppl[1], '{:.2f}') if ppl[0] is not None else '–'} | "
                     f"{'–' if ttt is None else f'{ttt:.0f}'} | {num(g['trainable_nonembedding'])} | "
                     f"{num(mem)} | {num(act)} |")
    return '\n'.join(lines) + '\n'


def main(argv):
    p = ArgumentParser(description='Scaling-law fits and figures from sweep results.')
    p.add_argument('dirs', nargs='+', help='results/<sweep> folders')
    p.add_argument('--out', default=None, help='folder for report.md and the PNGs (default: the first folder)')
    p.add_argument('--metric', default='final_val_loss', choices=['final_val_loss', 'best_val_loss'])
    args = p.parse_args(argv)
    for d in args.dirs:
        if not Path(d).is_dir():
            raise UsageError(f"'{d}' is not a folder; give results/<sweep> folders written by sweep.py")
    rows = load_rows(args.dirs)
    out = Path(args.out or args.dirs[0])
    make_dir(out, '--out')
    tuning = lr_tuning(rows)
    groups = aggregate(at_best_lr(rows, tuning), args.metric)
    color = colors_for(groups)
    # LightOn's view of frozen weights costing 2/3 of a trainable one: only when some run has frozen weights
    xkeys = ['C_train', 'C_actual'] + (['C_frozen_2_3'] if any(g['frozen'] for g in groups) else [])
    fits = {x: family_fits(groups, x, args.metric) for x in xkeys}
    figures = list(FIGURES) + [f'loss_vs_{x}.png' for x in xkeys[2:]]
    points = [dict(x=g['trainable_nonembedding'], y=g['loss'], name=g['name'], family=g['family'])
              for g in groups if g['loss'] is not None and g['trainable_nonembedding'] is not None]
    front = pareto(points)
    plot_loss_vs_compute(groups, fits['C_train'], 'C_train', color, args.metric, out / FIGURES[0])
    plot_loss_vs_compute(groups, fits['C_actual'], 'C_actual', color, args.metric, out / FIGURES[1])
    for x in xkeys[2:]:
        plot_loss_vs_compute(groups, fits[x], x, color, args.metric, out / f'loss_vs_{x}.png')
    plot_loss_vs_params(groups, front, color, args.metric, out / FIGURES[2])
    plot_curves(groups, color, out / FIGURES[3])
    plot_time_memory(groups, color, out / FIGURES[4])
    for x in xkeys[:2]:
        plot_envelopes(envelopes(groups, x), x, color, out / f'envelope_{x}.png')
    figures = figures + [f'envelope_{x}.png' for x in xkeys[:2]]
    bisects = [(d, json.loads((Path(d) / 'bisect.json').read_text())) for d in args.dirs
               if (Path(d) / 'bisect.json').exists()]
    bisects = [(d, b, same_key_runs(b, groups)) for d, b in bisects]
    for d, b, others in bisects:
        plot_bisect(b, out / f"bisect_{b.get('sweep') or Path(d).name}.png", others)
        figures.append(f"bisect_{b.get('sweep') or Path(d).name}.png")
    pairs = paired_differences(groups, args.metric)
    meta = [json.loads((Path(d) / 'sweep.json').read_text()) for d in args.dirs if (Path(d) / 'sweep.json').exists()]
    gaps = gap_closed(groups, {m['name']: m['gap'] for m in meta if m.get('gap')}, args.metric)
    verdict_rows = verdicts(groups, {m['name']: m['claims'] for m in meta if m.get('claims')}, args.metric)
    for sweep in OrderedDict.fromkeys(k[0] for k in tuning):
        plot_lr(tuning, sweep, out / f'lr_{sweep}.png')
        figures.append(f'lr_{sweep}.png')
    for (sweep, name), t in tuning.items():
        if t['edge']:
            print(f"  {name}: the best learning rate (x{t['best']:g}) is an edge of its grid: widen it")
    (out / 'report.md').write_text(markdown(args.dirs, rows, groups, fits, front, args.metric, bisects, pairs,
                                            figures, tuning, gaps, verdict_rows) + '\n' + metrics_markdown(groups))
    for v in verdict_rows:
        print(f"  {v['verdict']:<10} x{v['budget']}: {v['claim']} ({v['a']} vs {v['b']})")
    print(f"wrote {out / 'report.md'} and {', '.join(figures)} in {out}/")
    for xkey, fs in fits.items():
        for fam, (source, pts, fit, off) in fs.items():
            if fit and pts:
                print(f"  {fam:<16} L = {fit['a']:.3g} {xkey}^-({fit['b']:.4f} ± {fit['se_b']:.4f})  [{source}, "
                      f"{len(pts)} points]")
    return 0


if __name__ == '__main__':
    exit_on_user_error()
    sys.exit(main(sys.argv[1:]))
