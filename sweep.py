"""
Run a grid of train.py configs, one results row per run, resumable at any moment.

    python sweep.py config/sweeps/elephant_cpu.py              # run it (re-run the same command to resume)
    python sweep.py config/sweeps/elephant_cpu.py --dry-run    # the plan: runs, parameter counts, C_train
    python sweep.py config/sweeps/lighton_gpu.py --jobs 4      # four train.py processes at a time

A sweep file is plain Python (exec'd, like config/*.py) that sets a few names:

    from sweep import grid
    name = 'elephant_cpu'                      # optional: results/<name>/ (default: the file's name)
    base = dict(max_iters=600, n_layer=2)      # train.py overrides for every run, or a list of config files
                                               # and dicts applied in order: ['config/x.py', dict(max_iters=600)]
    runs = [dict(name='dense'),                # one dict per run: train.py overrides, plus two keys of the
            dict(name='lora', linear='lora')]  # sweep's own: name (the run's folder) and family (its group in
    runs += grid(linear=['basis'], basis_dim=[5, 50])  # report.py; default: the run's `linear`). grid(**axes)
    seeds = [1337, 1338]                       # is the product of the axes. Every run is trained once per seed
                                               # (a run's own seeds=[...] replaces the list for that run).
    target_loss = 2.0                          # optional: time and compute to reach this val loss, per run
                                               # (passed to train.py, which times the crossing between evals)
    lr_grid = [1/4, 1/2, 1, 2, 4]              # optional: tune each run's learning_rate (a run's own lr_grid=
    lr_grid_max_extend = 2                     # [...] or None replaces it): see tune_lr and run_grid below
    jobs = 1                                   # optional: train.py processes at a time (--jobs overrides)
    nproc = 1                                  # optional: >1 launches each run with torchrun on nproc processes
    mode = 'grid'                              # or 'bisect', with a `bisect` dict instead of runs (see
                                               # run_bisect below; lr_grid then tunes every run it trains)
    long = dict(factor=4, runs=['dense', 'lora'])  # optional, grid mode: these runs again at their best lr with
                                               # factor x the compute (see long_runs below)
    gap = ('embeddings_only', 'dense')         # optional: report.py's "gap closed" between two runs, per seed
    claims = [dict(claim='LoRA beats a random basis', source='...', a='lora', b='basis', holds_if='a<b')]
                                               # optional: report.py's verdicts (see report.verdicts)

Each run trains in results/<sweep>/<name>-s<seed>/ (<name>-lr<mult>-s<seed>/ for a tuned run): train.py's out_dir,
plus its stdout.log and stderr.log.
When it ends, one JSON row is appended to results/<sweep>/results.jsonl (cli.ROW_FIELDS), ok or failed
with its error line; a failed run does not stop the sweep. A run whose row exists is finished and never
started again (--retry-failed re-runs the failed ones); a run with a ckpt.pt but no row was interrupted and
resumes with --init_from=resume. Ctrl-C (or SIGTERM) stops every running train.py at its next step with a
checkpoint; a SIGKILLed sweep takes its train.py processes with it (Linux: they get SIGTERM and checkpoint).
"""
import concurrent.futures
import difflib
import fcntl
import itertools
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from typing import NamedTuple, Optional
from pathlib import Path

from cli import ArgumentParser, ROW_FIELDS, PARAM_FIELDS, best_lr, exit_on_user_error, make_dir, read_jsonl, run_loss

REPO = Path(__file__).resolve().parent
RESULTS = Path('results')
SWEEP_KEYS = ('name', 'base', 'runs', 'seeds', 'target_loss', 'jobs', 'nproc', 'mode', 'bisect', 'lr_grid',
              'lr_grid_max_extend', 'long', 'gap', 'claims')
CLAIM_KEYS = ('claim', 'source', 'a', 'b', 'holds_if', 'margin')
HOLDS_IF = ('a<b', 'a>b', 'a=b', 'a!=b')  # a's loss below b's, above it, within +-margin of it, or not
RUN_KEYS = ('name', 'family', 'seeds', 'lr_grid')  # a run dict's keys that are the sweep's, not train.py's
RESERVED = ('out_dir', 'init_from', 'seed')  # set by the sweep itself


class SweepError(ValueError):
    """A sweep file or command line that cannot run: one line, exit code 2."""
    exit_code = 2


def grid(**axes):
    """The product of the axes, as a list of override dicts: grid(linear=['lora', 'basis'], n_layer=[2, 4])
    gives four runs. A value that is itself a list (a per-layer rank list) must be wrapped: attn_rank=[[8, 4]]."""
    keys = list(axes)
    for k, v in axes.items():
        if not isinstance(v, (list, tuple)):
            raise SweepError(f'grid({k}={v!r}): each axis is a list of values, e.g. {k}=[{v!r}]')
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


# -----------------------------------------------------------------------------
# the sweep file

@dataclass
class Run:
    name: str            # the run without its seed
    seed: int
    overrides: dict      # train.py overrides of this run (on top of the sweep's base)
    family: str
    bisect_value: object = None
    lr_mult: float = None  # a tuned run: learning_rate (and min_lr) times this
    budget: float = None   # a long run: its compute is this factor times the reference run's (see long_runs)

    @property
    def id(self):
        return f'{self.name}-s{self.seed}' if self.lr_mult is None else f'{self.name}-lr{self.lr_mult:g}-s{self.seed}'


class RunSpec(NamedTuple):
    """One entry of a sweep file's runs, before it is expanded into one Run per seed."""
    name: str
    family: Optional[str]    # report.py's grouping; None: the run's `linear`
    overrides: dict          # train.py keys
    seeds: Optional[list]    # None: the sweep's seeds
    bisect_value: object = None  # a bisect run: its value of bisect['key'] (written in its rows)


@dataclass
class Sweep:
    name: str
    path: str
    base_files: list
    base: dict
    runs: list           # [RunSpec]
    seeds: list
    target_loss: float = None
    jobs: int = 1
    nproc: int = 1
    mode: str = 'grid'
    bisect: dict = field(default_factory=dict)
    lr_grid: list = None            # multipliers of learning_rate tried on the first seed (None: not tuned)
    lr_grid_max_extend: int = 2     # points added past an edge of the grid, at most, per edge
    run_lr_grids: dict = field(default_factory=dict)  # run name -> its own lr_grid (a list, or None: not tuned)
    long: dict = None               # factor, runs, reference, flops_basis: the long-budget phase (None: none)
    gap: tuple = None               # (low run, high run) for report.py's gap closed
    claims: list = field(default_factory=list)  # report.py's verdict rows


def train_defaults():
    """(defaults, types) of train.py's config keys, as train.py passes them to configure()."""
    from configurator import defaults_of
    return defaults_of(REPO / 'train.py')


def run_name(overrides):
    """A folder name from a run's overrides: linear=lora-attn_rank=0.25 (only [A-Za-z0-9._=+-] kept)."""
    text = '-'.join(f'{k}={v}' for k, v in overrides.items()) or 'base'
    return re.sub(r'[^A-Za-z0-9._=+-]', '', text.replace(', ', '_').replace(',', '_'))


def load_sweep(path):
    path = str(path)
    if not os.path.isfile(path):
        raise SweepError(f"sweep file '{path}' not found; sweep files live in config/sweeps/")
    sys.modules.setdefault('sweep', sys.modules[__name__])  # `from sweep import grid` inside the file
    from configurator import run_file
    ns = run_file(path, {'__file__': path, '__name__': '__sweep__'}, what='sweep file')
    for k, v in ns.items():
        if k.startswith('_') or isinstance(v, (types.ModuleType, types.FunctionType, type)):
            continue
        if k not in SWEEP_KEYS:
            near = difflib.get_close_matches(k, SWEEP_KEYS, n=2, cutoff=0.6)
            hint = f"; did you mean {', '.join(near)}?" if near else f"; a sweep file sets {', '.join(SWEEP_KEYS)}"
            raise SweepError(f"{path}: unknown sweep setting '{k}'{hint} (private helpers start with _)")
    base = ns.get('base', {})
    items = base if isinstance(base, list) else [base]
    files, overrides = [], {}
    for item in items:
        if isinstance(item, str):
            if not os.path.isfile(item):
                raise SweepError(f"{path}: base config file '{item}' not found")
            files.append(item)
        elif isinstance(item, dict):
            overrides.update(item)
        else:
            raise SweepError(f'{path}: base holds config file names and dicts of overrides, not {item!r}')
    mode = ns.get('mode', 'grid')
    if mode not in ('grid', 'bisect'):
        raise SweepError(f"{path}: mode='{mode}' must be 'grid' or 'bisect'")
    runs_in = ns.get('runs', [] if mode == 'bisect' else None)
    if not isinstance(runs_in, list) or (mode == 'grid' and not runs_in):
        raise SweepError(f'{path}: runs must be a non-empty list of override dicts (or grid(...))')
    runs, names, run_lr_grids = [], set(), {}
    for r in runs_in:
        if not isinstance(r, dict):
            raise SweepError(f'{path}: each run is a dict of train.py overrides, not {r!r}')
        runs.append(check_run(r, path, names))
        if 'lr_grid' in r:
            run_lr_grids[runs[-1][0]] = check_lr_grid(r['lr_grid'], f'{path}: run {runs[-1][0]}')
    seeds = ns.get('seeds', [1337])
    check_seeds(seeds, path)
    for key in RESERVED:
        if key in overrides:
            raise SweepError(f'{path}: base sets {key}, which the sweep sets itself (seeds go in `seeds`)')
    sweep = Sweep(name=ns.get('name') or Path(path).stem, path=path, base_files=files, base=overrides, runs=runs,
                  seeds=seeds, target_loss=ns.get('target_loss'), jobs=ns.get('jobs', 1), nproc=ns.get('nproc', 1),
                  mode=mode, bisect=ns.get('bisect', {}), run_lr_grids=run_lr_grids,
                  lr_grid=check_lr_grid(ns.get('lr_grid'), path), lr_grid_max_extend=ns.get('lr_grid_max_extend', 2),
                  long=check_long(ns.get('long'), path, mode, names), gap=check_gap(ns.get('gap'), path, names),
                  claims=check_claims(ns.get('claims', []), path, names))
    ext = sweep.lr_grid_max_extend
    if not isinstance(ext, int) or isinstance(ext, bool) or ext < 0:
        raise SweepError(f'{path}: lr_grid_max_extend={ext!r} must be an int >= 0 (points added past each edge)')
    for key in ('jobs', 'nproc'):
        v = getattr(sweep, key)
        if not isinstance(v, int) or v < 1:
            raise SweepError(f'{path}: {key}={v!r} must be a positive int')
    if sweep.target_loss is not None and not isinstance(sweep.target_loss, (int, float)):
        raise SweepError(f'{path}: target_loss={sweep.target_loss!r} must be a number (a val loss) or None')
    if not re.fullmatch(r'[A-Za-z0-9._=+-]+', sweep.name):
        raise SweepError(f"{path}: name='{sweep.name}' may only use letters, digits and ._=+-")
    if mode == 'bisect':
        check_bisect(sweep, names)
    return sweep


def check_run(r, path, names):
    """The RunSpec of one run dict; names must be unique in the sweep. seeds is the run's own list (e.g. more
    seeds for the runs whose differences are within seed noise) or None: the sweep's."""
    overrides = {k: v for k, v in r.items() if k not in RUN_KEYS}
    for key in RESERVED:
        if key in overrides:
            raise SweepError(f'{path}: run {r!r} sets {key}, which the sweep sets itself (seeds go in `seeds`)')
    name = r.get('name') or run_name(overrides)
    if not re.fullmatch(r'[A-Za-z0-9._=+-]+', str(name)):
        raise SweepError(f"{path}: run name '{name}' may only use letters, digits and ._=+-")
    if name in names:
        raise SweepError(f"{path}: two runs are named '{name}'; give them distinct name= entries")
    names.add(name)
    seeds = r.get('seeds')
    if seeds is not None:
        check_seeds(seeds, f'{path}: run {name}')
    return RunSpec(name, r.get('family'), overrides, seeds)


def check_lr_grid(lr_grid, where):
    if lr_grid is None:
        return None
    if not isinstance(lr_grid, (list, tuple)) or not lr_grid or not all(
            isinstance(m, (int, float)) and not isinstance(m, bool) and m > 0 for m in lr_grid):
        raise SweepError(f'{where}: lr_grid={lr_grid!r} must be a non-empty list of positive multipliers of '
                         f'learning_rate, e.g. [1/4, 1/2, 1, 2, 4], or None')
    return sorted(set(float(m) for m in lr_grid))


def check_long(long, path, mode, names):
    """The long-budget phase: factor (> 1), runs (names of the sweep's runs), reference (whose compute sets the
    budget; default the first of runs) and flops_basis ('C_actual' by default: compute as the model performs it)."""
    if long is None:
        return None
    if mode != 'grid':
        raise SweepError(f'{path}: long works in grid mode only; remove it from the bisect sweep')
    if not isinstance(long, dict) or set(long) - {'factor', 'runs', 'reference', 'flops_basis'} or \
            not {'factor', 'runs'} <= set(long):
        raise SweepError(f"{path}: long={long!r} must be a dict with factor and runs (and optionally reference, "
                         f"flops_basis), e.g. long = dict(factor=4, runs=['dense', 'lora'])")
    f = long['factor']
    if not isinstance(f, (int, float)) or isinstance(f, bool) or f <= 1:
        raise SweepError(f'{path}: long factor={f!r} must be a number > 1 (the compute of the long runs, times the '
                         f"reference's)")
    runs = long['runs']
    if not isinstance(runs, list) or not runs:
        raise SweepError(f'{path}: long runs={runs!r} must be a non-empty list of run names')
    long = dict(long, reference=long.get('reference', runs[0]), flops_basis=long.get('flops_basis', 'C_actual'))
    for name in runs + [long['reference']]:
        if name not in names:
            raise SweepError(f"{path}: long names run '{name}', which the sweep does not have; "
                             f"its runs: {', '.join(sorted(names))}")
    if long['flops_basis'] not in ('C_actual', 'C_train'):
        raise SweepError(f"{path}: long flops_basis={long['flops_basis']!r} must be 'C_actual' or 'C_train'")
    return long


def check_gap(gap, path, names):
    if gap is None:
        return None
    if not isinstance(gap, (list, tuple)) or len(gap) != 2 or not all(g in names for g in gap):
        raise SweepError(f'{path}: gap={gap!r} must be two run names of the sweep (the low and the high reference), '
                         f"e.g. gap = ('embeddings_only', 'dense')")
    return tuple(gap)


def check_claims(claims, path, names):
    if not isinstance(claims, list):
        raise SweepError(f"{path}: claims must be a list of dicts with {', '.join(CLAIM_KEYS)}")
    for c in claims:
        where = f'{path}: claim {c!r}'
        if not isinstance(c, dict) or set(c) - set(CLAIM_KEYS) or not {'claim', 'a', 'b', 'holds_if'} <= set(c):
            raise SweepError(f"{where} must be a dict with claim, a, b, holds_if (and source, margin)")
        for k in ('a', 'b'):
            if c[k] not in names:
                raise SweepError(f"{where}: {k}='{c[k]}' is not a run of the sweep; its runs: "
                                 f"{', '.join(sorted(names))}")
        if c['holds_if'] not in HOLDS_IF:
            raise SweepError(f"{where}: holds_if={c['holds_if']!r} must be one of {', '.join(HOLDS_IF)}")
        if (c['holds_if'] in ('a=b', 'a!=b')) != ('margin' in c) or c.get('margin', 1) <= 0:
            raise SweepError(f"{where}: holds_if 'a=b' and 'a!=b' need margin > 0 (nats within which a matches b), "
                             f"and only they take one")
    return claims


def check_seeds(seeds, where):
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
        raise SweepError(f'{where}: seeds must be a non-empty list of ints, e.g. seeds = [1337]')


BISECT_KEYS = ('key', 'lo', 'hi', 'run', 'low_ref', 'high_ref', 'fraction', 'probes', 'ratio', 'metric', 'integer')


def check_bisect(sweep, names):
    b = sweep.bisect
    if not isinstance(b, dict):
        raise SweepError(f'{sweep.path}: bisect must be a dict with {", ".join(BISECT_KEYS)}')
    unknown = set(b) - set(BISECT_KEYS)
    if unknown:
        raise SweepError(f"{sweep.path}: unknown bisect setting(s) {', '.join(sorted(unknown))}; "
                         f"valid: {', '.join(BISECT_KEYS)}")
    for k in ('key', 'lo', 'hi', 'low_ref', 'high_ref'):
        if k not in b:
            raise SweepError(f"{sweep.path}: bisect needs '{k}' (key, lo, hi: the range searched in log space; "
                             f"low_ref, high_ref: the two reference runs whose losses set the target)")
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if not (number(b['lo']) and number(b['hi']) and 0 < b['lo'] < b['hi']):
        raise SweepError(f"{sweep.path}: bisect needs 0 < lo < hi, got lo={b['lo']!r}, hi={b['hi']!r}")
    if not number(b.get('fraction', 0.9)) or not 0 < b.get('fraction', 0.9) < 1:
        raise SweepError(f"{sweep.path}: bisect fraction={b.get('fraction')!r} must be in (0, 1)")
    ratio = b.get('ratio')
    if ratio is not None and (not number(ratio) or ratio <= 1):
        raise SweepError(f"{sweep.path}: bisect ratio={ratio!r} must be a number > 1 (bisect until hi/lo <= ratio, "
                         f"e.g. ratio=2) or None (until no value lies between)")
    probes = b.get('probes', 8)
    if not isinstance(probes, int) or isinstance(probes, bool) or probes < 0:
        raise SweepError(f"{sweep.path}: bisect probes={probes!r} must be an int >= 0 (the most probes run)")
    if sweep.runs:
        raise SweepError(f"{sweep.path}: a bisect sweep trains its references and probes only; remove `runs` "
                         f"(or put them in a grid sweep)")
    for ref in ('low_ref', 'high_ref'):
        r = b[ref]
        if not isinstance(r, dict):
            raise SweepError(f"{sweep.path}: bisect {ref} must be a dict of train.py overrides, e.g. "
                             f"dict(name='dense', linear='dense')")
        if 'seeds' in r:
            raise SweepError(f"{sweep.path}: bisect {ref} sets seeds; remove it: every bisect run trains the "
                             f"sweep's seeds (the target pairs the references with the probes by seed)")
        b[ref] = check_run(dict(r, name=r.get('name', ref)), sweep.path, names)
        if 'lr_grid' in r:  # e.g. lr_grid=None: this reference untuned
            sweep.run_lr_grids[b[ref].name] = check_lr_grid(r['lr_grid'], f'{sweep.path}: bisect {ref}')


def bisect_run(sweep, value):
    b = sweep.bisect
    value = int(round(value)) if b.get('integer', True) else float(value)
    overrides = dict(b.get('run', {}), **{b['key']: value})
    return RunSpec(f"{b['key']}={value}", None, overrides, None, value), value


def expand(sweep, runs):
    """Run objects for RunSpec entries, one per seed."""
    out = []
    for spec in runs:
        fam = spec.family or dict(sweep.base, **spec.overrides).get('linear') or 'dense'
        out.extend(Run(spec.name, s, spec.overrides, fam, spec.bisect_value) for s in spec.seeds or sweep.seeds)
    return out


# -----------------------------------------------------------------------------
# tuned runs: a learning-rate grid on the first seed, extended past an edge that wins, other seeds at the best

def lr_grid_of(sweep, entry):
    return sweep.run_lr_grids.get(entry[0], sweep.lr_grid)


def lr_run(sweep, entry, mult, seed, defaults=None):
    """The Run of a grid entry at learning_rate (and min_lr, so the schedule keeps its shape) times mult; under
    optimizer='muon', muon_lr too (its matrices are most of what trains)."""
    run = expand(sweep, [entry])[0]
    cfg = resolve_config(sweep, run.overrides, seed, defaults or train_defaults())
    overrides = dict(run.overrides, learning_rate=cfg['learning_rate'] * mult, min_lr=cfg['min_lr'] * mult)
    if cfg['optimizer'] == 'muon':
        overrides['muon_lr'] = cfg['muon_lr'] * mult
    return Run(run.name, seed, overrides, run.family, run.bisect_value, lr_mult=mult)


def next_lr_points(points, losses, extended, max_extend):
    """Multipliers to add to a grid whose best point is on an edge: the next one past it (x2 above, /2 below), while
    that edge has been extended fewer than max_extend times. extended = [below, above], updated."""
    best = best_lr(losses)
    if best is None:
        return []
    new = []
    if best == points[0] and extended[0] < max_extend:
        new.append(points[0] / 2)
        extended[0] += 1
    if best == points[-1] and extended[1] < max_extend:
        new.append(points[-1] * 2)
        extended[1] += 1
    return new


def tune_lr(sweep, runner, tuned, first=(), defaults=None, then=None):
    """The lr grid of each tuned entry on its first seed, queued with the runs `first` (untuned runs trained
    alongside); while an entry's best point (lowest final val loss) is on an edge, the next point past that edge
    (x2 or /2, at most lr_grid_max_extend per edge). Each entry moves on as soon as its own points have finished,
    not when every entry's have (no core waits for a batch to drain): its next points, or once its best is known,
    the runs then(entry, best) returns (its other seeds, its long runs), in the same queue. Grid and bisect mode
    both tune through it. Returns ({name: best multiplier, None if every point failed}, {name: the multipliers
    run}, {run id: row}), or None when the sweep is stopping."""
    defaults = defaults or (train_defaults() if tuned else None)
    seed = {e[0]: (e[3] or sweep.seeds)[0] for e in tuned}
    points = {e[0]: list(lr_grid_of(sweep, e)) for e in tuned}
    extended = {e[0]: [0, 0] for e in tuned}
    point = lambda e, m: lr_run(sweep, e, m, seed[e[0]], defaults)
    owner, left, best, rows = {}, {}, {}, {}   # run id -> its entry; entry name -> its unfinished points' ids;
                                               # rows: every run's row, as follow sees it arrive

    def start(e, mults):
        runs = [point(e, m) for m in mults]
        owner.update((r.id, e) for r in runs)
        left[e[0]] = {r.id for r in runs}
        return runs

    def follow(run, row):
        rows[run.id] = row
        e = owner.get(run.id)
        if e is None or run.id not in left[e[0]]:
            return []
        name = e[0]
        left[name].discard(run.id)
        if left[name]:
            return []
        losses = {m: run_loss(rows.get(point(e, m).id)) for m in points[name]}
        new = next_lr_points(points[name], losses, extended[name], sweep.lr_grid_max_extend)
        points[name] = sorted(points[name] + new)
        best[name] = best_lr(losses)
        if new:
            return start(e, new)
        return then(e, best[name]) if then else []

    runner.run_all(list(first) + [r for e in tuned for r in start(e, points[e[0]])], follow)
    if runner.stopping:
        return None
    return best, points, rows


def run_grid(sweep, runner):
    """grid mode. Untuned runs: every seed, as listed. Tuned runs (an lr_grid): tune_lr on the run's first seed
    (the untuned runs queued with it); once a run's best multiplier is known, its other seeds at that multiplier
    only, and its long runs (sweep.long). Every point is an ordinary run with its row, so a re-run replays the
    finished ones from results.jsonl and goes on. Returns {run name: best multiplier} of the tuned runs."""
    plain = [e for e in sweep.runs if lr_grid_of(sweep, e) is None]
    tuned = [e for e in sweep.runs if lr_grid_of(sweep, e) is not None]
    seeds = {e[0]: e[3] or sweep.seeds for e in tuned}
    defaults = train_defaults() if tuned or sweep.long else None
    longs = lambda names, best: long_runs(sweep, best, defaults, names) if sweep.long else []
    then = lambda e, m: [] if m is None else \
        [lr_run(sweep, e, m, s, defaults) for s in seeds[e[0]][1:]] + longs([e[0]], {e[0]: m})
    tuning = tune_lr(sweep, runner, tuned, expand(sweep, plain) + longs([e[0] for e in plain], {}), defaults, then)
    if tuning is None:
        return None
    best, points, _ = tuning
    for e in tuned:
        m = best[e[0]]
        edge = m is not None and len(points[e[0]]) > 1 and m in (points[e[0]][0], points[e[0]][-1])
        print(f"lr grid {e[0]}: {', '.join(f'{p:g}' for p in points[e[0]])} x learning_rate; best "
              f"{'none (every point failed)' if m is None else f'{m:g}'}" + (' (still on the edge)' if edge else ''),
              flush=True)
    return best


def long_runs(sweep, best, defaults=None, names=None):
    """The long-budget phase: each of long['runs'] (those in names, if given) again, on every one of its seeds, at
    its best multiplier (an untuned run as it is), with target_flops = factor x the reference run's compute at the
    sweep's own budget (in flops_basis): every long run gets the same compute, so a cheaper model trains on more
    tokens (budgets matched by compute, not by tokens). The lr is not re-tuned at the long budget (a verdict that
    flips there says so). Named <run>_x<factor>; a tuned run whose every grid point failed has no long run."""
    L, defaults = sweep.long, defaults or train_defaults()
    entries = {e[0]: e for e in sweep.runs}
    ref = expand(sweep, [entries[L['reference']]])[0]
    short = estimate(resolve_config(sweep, ref.overrides, ref.seed, defaults), sweep.nproc)
    budget = L['factor'] * short[L['flops_basis']]
    budget *= 1 - 1e-9  # a hair under the exact multiple: float rounding cannot add a step to the reference
    out = []
    for name in L['runs'] if names is None else [n for n in L['runs'] if n in names]:
        e = entries[name]
        tuned = lr_grid_of(sweep, e) is not None
        if tuned and best.get(name) is None:
            continue
        for seed in e[3] or sweep.seeds:
            run = lr_run(sweep, e, best[name], seed, defaults) if tuned else expand(sweep, [e])[0]
            out.append(Run(f"{name}_x{L['factor']:g}", seed, dict(run.overrides, target_flops=budget,
                           flops_basis=L['flops_basis']), run.family, lr_mult=run.lr_mult, budget=L['factor']))
    return out


# -----------------------------------------------------------------------------
# the plan without training: parameter counts and compute from model.py, on the meta device

def train_args(sweep, overrides, seed):
    """train.py's command line for a run (without out_dir): the base config files, then every override."""
    overrides = dict(sweep.base, **overrides)
    if sweep.target_loss is not None:
        overrides.setdefault('target_loss', sweep.target_loss)  # train.py times the crossing between evals
    return list(sweep.base_files) + [f'--{k}={v!r}' for k, v in overrides.items()] + [f'--seed={seed}']


def resolve_config(sweep, overrides, seed, defaults):
    """train.py's config for a run, resolved from the same command line train.py will get. defaults: the
    (defaults, types) of train_defaults()."""
    from configurator import configure
    return configure(defaults[0], train_args(sweep, overrides, seed), defaults[1], script='train.py')


def vocab_size_of(cfg):
    data_dir = Path(cfg['data_dir']) if cfg.get('data_dir') else REPO / 'data' / cfg['dataset']
    try:
        return json.loads((data_dir / 'meta.json').read_text())['vocab_size'], True
    except (OSError, ValueError, KeyError):
        return 256, False


def estimate(cfg, nproc=1):
    """Parameter counts and FLOPs per token of a resolved config trained on nproc processes, without training or
    allocating weights."""
    import torch
    from model import GPT, config_from_dict
    vocab, known = vocab_size_of(cfg)
    gcfg = config_from_dict(dict(cfg, vocab_size=vocab))
    try:
        with torch.device('meta'):
            model = GPT(gcfg)
        counts, flops = model.param_counts(), model.flops_per_token()
        # data_ptr() is 0 for every meta tensor: count each state tensor once by identity instead
        state = {id(t): t for t in model.state_dict(keep_vars=True).values()}.values()
        counts['checkpoint_bytes'] = sum(t.numel() * t.element_size() for t in state)
    except Exception as e:  # a variant that needs real values at build time: build it for real
        if getattr(e, 'exit_code', None):
            raise
        model = GPT(gcfg)
        counts, flops = model.param_counts(), model.flops_per_token()
    accum = cfg['gradient_accumulation_steps']
    per_iter = cfg['batch_size'] * cfg['block_size'] * accum
    iters = cfg['max_iters']
    from model import iters_for_budget, step_repeats
    compiled = cfg.get('compile') is True or (cfg.get('compile') == 'auto' and torch.cuda.is_available()
                                              and not str(cfg.get('device', 'auto')).startswith(('cpu', 'mps')))
    repeats = step_repeats(accum, nproc, compiled)     # train.py resolves compile='auto' the same way
    if cfg.get('target_flops') or cfg.get('tokens_per_param'):  # train.py sets max_iters from the budget the same way
        iters = iters_for_budget(flops, counts['trainable_nonembedding'], per_iter, repeats,
                                 cfg.get('target_flops', 0), cfg.get('flops_basis', 'C_train'),
                                 cfg.get('tokens_per_param', 0))
    tokens = iters * per_iter
    return dict(counts, vocab_known=known, tokens=tokens, C_train=flops['C_train'] * tokens,
                C_actual=flops['C_actual'] * tokens + flops['step'] * repeats * iters)


def bisect_plan(sweep, defaults):
    """A bisect sweep's first batch (the references and the two ends on the first seed: every grid point when tuned)
    and a line on what follows, with how many runs that makes."""
    b = sweep.bisect
    entries = [b['low_ref'], b['high_ref'], bisect_run(sweep, b['lo'])[0], bisect_run(sweep, b['hi'])[0]]
    seed0, grids = sweep.seeds[0], [lr_grid_of(sweep, e) for e in entries]
    runs = [next(r for r in expand(sweep, [e]) if r.seed == seed0) for e, g in zip(entries, grids) if g is None]
    runs += [lr_run(sweep, e, m, seed0, defaults) for e, g in zip(entries, grids) if g is not None for m in g]
    cap, ratio = b.get('probes', 8), b.get('ratio')
    # each probe halves the bracket in log space: k probes leave log(hi/lo) / 2^k
    k = cap if ratio is None else \
        min(cap, max(0, math.ceil(math.log2(math.log(b['hi'] / b['lo']) / math.log(ratio)))))
    per_probe = (len(sweep.lr_grid) if sweep.lr_grid else 1) + len(sweep.seeds) - 1
    fewest = len(runs) + 4 * (len(sweep.seeds) - 1) + k * per_probe
    most = fewest + 2 * sweep.lr_grid_max_extend * (sum(g is not None for g in grids) + (k if sweep.lr_grid else 0))
    steps = f'about {k} probes until hi/lo <= {ratio:g} (at most {cap})' if ratio is not None else \
        f'at most {cap} probes'
    tuned = f"each tuned on lr x {', '.join(f'{m:g}' for m in sweep.lr_grid)} on seed {seed0}" if sweep.lr_grid \
        else 'untuned'
    count = f'{fewest} runs in all' + (f' if no lr edge wins (at most {most})' if most > fewest else '')
    note = (f"then bisection of {b['key']} in log space between {b['lo']} and {b['hi']} for the smallest value "
            f"whose mean over seeds {sweep.seeds} closes {b.get('fraction', 0.9):.0%} of the gap between "
            f"{b['low_ref'].name} and {b['high_ref'].name}: {steps}, {tuned}, the other seeds at its best lr. "
            f"{count}")
    return runs, note


def dry_run(sweep, results):
    defaults = train_defaults()
    done = {r['run']: r['status'] for r in read_jsonl(results / 'results.jsonl')}
    tuned = [e for e in sweep.runs if lr_grid_of(sweep, e) is not None]
    runs = expand(sweep, [e for e in sweep.runs if e not in tuned])
    runs += [lr_run(sweep, e, m, (e[3] or sweep.seeds)[0], defaults) for e in tuned for m in lr_grid_of(sweep, e)]
    note = ''
    if tuned:
        note = (f'then, per tuned run, up to {sweep.lr_grid_max_extend} more points past each edge of its lr grid '
                f'that wins, then its other seeds at its best lr (each run moves on as soon as its own points are in): '
                + ', '.join(f'{e[0]} {(e[3] or sweep.seeds)[1:]}' for e in tuned))
    if sweep.mode == 'bisect':
        runs, note = bisect_plan(sweep, defaults)
    if sweep.long:  # listed at lr x1; they train at their run's best (lr* below)
        L = sweep.long
        runs += long_runs(sweep, {e[0]: 1.0 for e in tuned}, defaults)
        note += (f"{'; ' if note else ''}and the long runs (_x{L['factor']:g}), each once its run's best lr is "
                 f"known, with {L['factor']:g} x {L['reference']}'s {L['flops_basis']}")
    print(f'sweep {sweep.name} ({sweep.path}): {len(runs)} runs, mode {sweep.mode}, seeds {sweep.seeds}, '
          f'results in {results}/')
    head = f"{'run':<34}{'family':<14}{'trainable':>14}{'non-emb':>14}{'frozen':>15}{'emulated':>15}" \
           f"{'tokens':>17}{'C_train':>11}{'C_actual':>11}  status"
    print(head)
    tot = dict(tokens=0, C_train=0, C_actual=0)
    vocab_guess = False
    for run in runs:
        rid = run.id if run.budget is None or run.lr_mult is None else f'{run.name}-lr*-s{run.seed}'
        status = done.get(run.id, 'to run') if rid == run.id else next(
            (st for r, st in done.items() if re.fullmatch(rf'{re.escape(run.name)}-lr[^-]+-s{run.seed}', r)), 'to run')
        try:
            e = estimate(resolve_config(sweep, run.overrides, run.seed, defaults), sweep.nproc)
        except Exception as ex:
            print(f'{rid:<34}{run.family:<14}  error: {str(ex).splitlines()[0]}')
            continue
        vocab_guess |= not e['vocab_known']
        for k in tot:
            tot[k] += e[k]
        print(f"{rid:<34}{run.family:<14} {e['trainable']:>13,} {e['trainable_nonembedding']:>13,} "
              f"{e['frozen']:>14,} {e['emulated_nonembedding']:>14,} {e['tokens']:>16,}{e['C_train']:>11.3g}"
              f"{e['C_actual']:>11.3g}  {status}")
    print(f"total: {tot['tokens']:,} tokens, C_train {tot['C_train']:.3g}, C_actual {tot['C_actual']:.3g} FLOPs")
    if note:
        print(note)
    if vocab_guess:
        print('(dataset not prepared here: embedding counts assume a vocabulary of 256)')
    return 0


# -----------------------------------------------------------------------------
# results.jsonl and a finished run's row

def say(line):
    print(line + '\n', end='', flush=True)  # one write: the lines of two jobs never run together


def error_line(stderr_text, returncode):
    lines = [l.strip() for l in stderr_text.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith('error:')]
    if errors:
        return errors[-1]
    if lines:
        return lines[-1]
    return f'killed by signal {-returncode}' if returncode < 0 else f'exit code {returncode}'


def cumulative_seconds(evals):
    """Training seconds at each eval, counted from the run's first start. A newer checkpoint carries its training
    seconds and the resumed clock goes on from them (this is then the identity); one written before 2026-12-02 does
    not, and train.py resumed from it restarts its clock (`seconds` drops) at the checkpoint's iteration, the
    interrupted attempt's eval at that iteration dropped from the log: the time the old attempt took from its last
    kept eval to the checkpoint is estimated at its own pace (seconds per iteration; the new attempt's pace if the
    old one logged a single eval)."""
    segments = []
    for r in evals:
        if not segments or r['seconds'] < segments[-1][-1]['seconds']:
            segments.append([])
        segments[-1].append(r)

    def pace(seg):
        return (seg[-1]['seconds'] - seg[0]['seconds']) / (seg[-1]['iter'] - seg[0]['iter']) if len(seg) > 1 and \
            seg[-1]['iter'] > seg[0]['iter'] else None

    out, offset = [], 0.0
    for i, seg in enumerate(segments):
        if i:
            last, rate = segments[i - 1][-1], pace(segments[i - 1]) or pace(seg) or 0.0
            offset += last['seconds'] + rate * max(0, seg[0]['iter'] - last['iter'])
        out += [r['seconds'] + offset for r in seg]
    return out


def collect(run, out_dir, sweep, attempt):
    """The results row of a run from its out_dir: config.json, log.jsonl and the sweep's attempt records."""
    row = dict.fromkeys(ROW_FIELDS)
    row.update(sweep=sweep.name, name=run.name, run=run.id, family=run.family, seed=run.seed,
               overrides=run.overrides, config_files=sweep.base_files, bisect_value=run.bisect_value,
               target_loss=sweep.target_loss, returncode=attempt['returncode'], lr_mult=run.lr_mult, budget=run.budget,
               resumed=attempt['resumed'], peak_mem=attempt['max_rss'], peak_mem_kind='max_rss')
    try:
        cfg = json.loads((out_dir / 'config.json').read_text())
    except (OSError, ValueError):
        cfg = {}
    params, fpt = cfg.get('params', {}), cfg.get('flops_per_token', {})
    row['learning_rate'] = cfg.get('config', {}).get('learning_rate')
    for k in PARAM_FIELDS:
        row[k] = params.get(k)
    log = read_jsonl(out_dir / 'log.jsonl')
    evals = [r for r in log if 'val_loss' in r]
    mem = next((r for r in log if 'param_bytes' in r), None)
    if mem:
        row.update(model_bytes=sum(mem[k] for k in ('param_bytes', 'buffer_bytes', 'grad_bytes', 'optimizer_bytes')),
                   activation_bytes_per_token=mem['activation_bytes_per_token'])
    curve = [dict(iter=r['iter'], tokens=r['tokens'], val_loss=r['val_loss'], train_loss=r['train_loss'],
                  val_bpb=r.get('val_bpb'), C_train=r['C_train'], C_actual=r['C_actual'],
                  C_frozen_2_3=r.get('C_frozen_2_3'), seconds=s) for r, s in zip(evals, cumulative_seconds(evals))]
    row['curve'] = curve
    cuda_peaks = [r['peak_mem'] for r in evals if r.get('peak_mem') is not None]
    if cuda_peaks:  # CUDA: torch.cuda.max_memory_allocated of rank 0, as train.py logs it
        row.update(peak_mem=max(cuda_peaks), peak_mem_kind='cuda_max_allocated')
    if curve:
        last = curve[-1]
        best = min(curve, key=lambda r: r['val_loss'])
        row.update(iters=last['iter'], tokens=last['tokens'], C_train=last['C_train'], C_actual=last['C_actual'],
                   C_frozen_2_3=last['C_frozen_2_3'], final_val_loss=last['val_loss'],
                   final_train_loss=last['train_loss'], final_val_bpb=last['val_bpb'],
                   best_val_loss=best['val_loss'], train_seconds=last['seconds'])
        bpbs = [r['val_bpb'] for r in curve if r['val_bpb'] is not None]
        row['best_val_bpb'] = min(bpbs) if bpbs else None
        if fpt.get('C_frozen_0') is not None:
            row['C_frozen_0'] = fpt['C_frozen_0'] * last['tokens']
        if sweep.target_loss is not None:
            hit = next((r for r in curve if r['val_loss'] <= sweep.target_loss), None)
            logged = next((r for r in read_jsonl(out_dir / 'log.jsonl') if r.get('target_reached') is not None
                           and r['target_reached'] == sweep.target_loss), None)
            if logged:  # its seconds count from its attempt's start: add what the evals before it carry
                before = [(e, c) for e, c in zip(evals, cumulative_seconds(evals)) if e['iter'] <= logged['iter']]
                offset = before[-1][1] - before[-1][0]['seconds'] if before else 0.0
                hit = dict(logged, seconds=logged['seconds'] + offset)
            if hit:
                row.update(iter_to_target=hit['iter'], tokens_to_target=hit['tokens'], time_to_target=hit['seconds'],
                           C_train_to_target=hit['C_train'], C_actual_to_target=hit['C_actual'])
    row['wall_time'], row['cpu_time'] = attempt['wall_time'], attempt.get('cpu_time')
    max_iters = cfg.get('config', {}).get('max_iters')
    complete = bool(curve) and max_iters is not None and curve[-1]['iter'] >= max_iters
    if attempt['returncode'] == 0 and complete:
        row['status'] = 'ok'
    else:
        row['status'] = 'failed'
        row['error'] = attempt['error'] if attempt['returncode'] != 0 else \
            f'train.py stopped at iter {row["iters"]} of {max_iters} without an error (stopped by a signal?)'
    return row


# -----------------------------------------------------------------------------
# running train.py processes

# exec'd in the child before train.py: ask the kernel for SIGTERM when the sweep dies (even by SIGKILL), so no
# orphan keeps training into a folder that a re-run resumes; train.py checkpoints on SIGTERM and exits
_LAUNCH = """import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(143)  # the sweep died before prctl took effect
os.execv(sys.executable, [sys.executable] + sys.argv[2:])
"""


class Runner:
    def __init__(self, sweep, results, jobs, retry_failed=False):
        self.sweep, self.results, self.jobs = sweep, results, jobs
        self.retry_failed = retry_failed
        self.rows_path = results / 'results.jsonl'
        self.lock = threading.Lock()
        self.children = set()
        self.stopping = False

    def rows(self):
        """The latest row of every run id."""
        return {r['run']: r for r in read_jsonl(self.rows_path)}

    def write_row(self, row):
        with self.lock:
            rows = [r for r in read_jsonl(self.rows_path) if r['run'] != row['run']]
            tmp = self.rows_path.with_suffix('.jsonl.tmp')
            with open(tmp, 'w') as f:
                for r in rows + [row]:
                    f.write(json.dumps(r) + '\n')
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.rows_path)

    def command(self, run, out_dir, resume):
        args = train_args(self.sweep, run.overrides, run.seed) + [f'--out_dir={out_dir}']
        if resume:
            args.append('--init_from=resume')
        if self.sweep.nproc > 1:
            cmd = ['-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={self.sweep.nproc}',
                   str(REPO / 'train.py'), *args]
        else:
            cmd = [str(REPO / 'train.py'), *args]
        if sys.platform.startswith('linux'):
            return [sys.executable, '-c', _LAUNCH, str(os.getpid()), *cmd]
        return [sys.executable, *cmd]

    def env(self):
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
        threads = str(max(1, cpus // (self.jobs * self.sweep.nproc)))
        if 'OMP_NUM_THREADS' not in os.environ or self.jobs > 1:
            env['OMP_NUM_THREADS'] = threads
            env['MKL_NUM_THREADS'] = threads
        return env

    def train(self, run, k, total):
        """Train one run to the end (resuming it if it was interrupted), the k-th of the total known so far to
        train; returns its row, or None if the sweep is stopping (the run will resume next time)."""
        if self.stopping:
            return None
        out_dir = self.results / run.id
        out_dir.mkdir(parents=True, exist_ok=True)
        resume = (out_dir / 'ckpt.pt').exists()
        say(f'[{k}/{total}] {"resume" if resume else "start"} {run.id}   (log: {out_dir}/stdout.log)')
        # every attempt is recorded in sweep_attempts.json: a killed attempt is timed by the folder's last write
        attempts_path = out_dir / 'sweep_attempts.json'
        attempts = json.loads(attempts_path.read_text()) if attempts_path.exists() else []
        for a in attempts:
            if a.get('end') is None:
                a['end'] = max((p.stat().st_mtime for p in out_dir.iterdir()), default=a['start'])
        attempts.append(dict(start=time.time(), end=None, resume=resume))
        attempts_path.write_text(json.dumps(attempts))
        stderr_path = out_dir / 'stderr.log'
        err_offset = stderr_path.stat().st_size if stderr_path.exists() else 0
        with open(out_dir / 'stdout.log', 'a') as so, open(stderr_path, 'a') as se:
            proc = subprocess.Popen(self.command(run, out_dir, resume), cwd=REPO, stdout=so, stderr=se,
                                    env=self.env())
            with self.lock:
                self.children.add(proc)
            if self.stopping:  # a stop arrived while it was starting
                proc.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = returncode = os.waitstatus_to_exitcode(status)
            with self.lock:
                self.children.discard(proc)
        attempts[-1].update(end=time.time(), returncode=returncode, cpu=usage.ru_utime + usage.ru_stime)
        attempts_path.write_text(json.dumps(attempts))
        with open(stderr_path) as f:
            f.seek(err_offset)
            err = f.read()
        if self.stopping and (returncode == 0 or returncode < 0 or returncode == 143):
            say(f'[{k}/{total}] stopped {run.id}: it resumes when the sweep is run again')
            return None
        maxrss = usage.ru_maxrss * (1 if sys.platform == 'darwin' else 1024)
        attempt = dict(returncode=returncode, error=error_line(err, returncode) if returncode else None,
                       resumed=any(a['resume'] for a in attempts), max_rss=maxrss,
                       wall_time=sum(a['end'] - a['start'] for a in attempts),
                       cpu_time=sum(a['cpu'] for a in attempts if a.get('cpu') is not None) if any(
                           a.get('cpu') is not None for a in attempts) else None)
        row = collect(run, out_dir, self.sweep, attempt)
        self.write_row(row)
        if row['status'] == 'ok':
            bpb = f", val bpb {row['final_val_bpb']:.4f}" if row['final_val_bpb'] is not None else ''
            say(f"[{k}/{total}] done {run.id}: val loss {row['final_val_loss']:.4f}{bpb}, "
                f"{row['trainable']:,} trainable ({row['trainable_nonembedding']:,} non-embedding), "
                f"{row['wall_time']:.0f} s")
        else:
            say(f"[{k}/{total}] FAILED {run.id}: {row['error']}")
        return row

    def run_all(self, runs, follow=None):
        """Train every run that has no row yet (or a failed one, with retry_failed), `jobs` at a time, in order.
        follow(run, row), called as each run's row arrives (at once for a run that has one already), returns more
        runs, queued first: a run starts as soon as the runs it depends on have finished, not when a whole batch
        has, and the longest (the long runs, which come last in a chain) start early rather than leave one core
        training them alone at the end.
        Returns {run id: row} for all of them, finished before or now; stops early (self.stopping) on a signal."""
        done, queue, out, seen, futures = self.rows(), list(runs), {}, set(), {}
        skipped, k = 0, 0
        has_row = lambda r: r.id in done and not (self.retry_failed and done[r.id]['status'] != 'ok')
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs) as pool:
            while queue or futures:
                while queue and len(futures) < self.jobs and not self.stopping:
                    r = queue.pop(0)
                    if r.id in seen:
                        continue
                    seen.add(r.id)
                    if has_row(r):
                        skipped += 1
                        out[r.id] = done[r.id]
                        queue[:0] = follow(r, done[r.id]) if follow else []
                    else:
                        k += 1
                        n = k + len({q.id for q in queue if q.id not in seen and not has_row(q)})
                        futures[pool.submit(self.train, r, k, n)] = r
                if self.stopping:
                    queue = []
                if futures:
                    finished, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
                    for fut in finished:
                        r, row = futures.pop(fut), fut.result()
                        out[r.id] = row
                        if row is not None and follow and not self.stopping:
                            queue[:0] = follow(r, row)
        if skipped:
            print(f'{skipped} of {len(seen)} runs already have a row in {self.rows_path}: skipped', flush=True)
        rows = self.rows()
        return {i: rows.get(i) for i in out}

    def stop(self, signum, frame):
        if not self.stopping:
            print(f'\nsweep: {signal.Signals(signum).name}: stopping the running train.py at their next step '
                  f'(with a checkpoint); run the same command again to resume', file=sys.stderr, flush=True)
        self.stopping = True
        with self.lock:
            for p in self.children:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass


def mean_metric(rows, metric):
    vals = [r[metric] for r in rows if r and r['status'] == 'ok' and r.get(metric) is not None]
    return sum(vals) / len(vals) if vals and len(vals) == len(rows) else None


def run_bisect(sweep, runner):
    """The smallest value of bisect['key'] in [lo, hi] whose run closes `fraction` of the gap between the two
    reference runs: target = L_low - fraction (L_low - L_high) on the bisect metric. Assumes the metric falls as
    the value grows. Every decision is made on the mean over the sweep's seeds (paired: the same seeds for every
    run), since one seed's spread can be as large as the gap left to close: the references and the two ends first
    (one batch), then the geometric midpoint of the bracket (lo misses the target, hi meets it), one probe after the
    other, until hi/lo <= ratio (without a ratio: until no value lies between), at most `probes` times. With an
    lr_grid each run is tuned on the first seed as grid mode tunes a run (tune_lr: its grid points queued together, an
    edge that wins extended) and trains the other seeds at its best lr as soon as that is known. at_seeds lists
    every run's per-seed losses. Every run has its row, so a re-run replays the finished ones from results.jsonl
    and goes on. Writes results/<sweep>/bisect.json; returns its dict, or None when the sweep is stopping."""
    b = sweep.bisect
    metric, fraction, ratio = b.get('metric', 'best_val_loss'), b.get('fraction', 0.9), b.get('ratio')
    integer = b.get('integer', True)
    tuned = lambda e: lr_grid_of(sweep, e) is not None
    defaults = train_defaults() if sweep.lr_grid or any(sweep.run_lr_grids.values()) else None
    best = {}  # tuned entry name -> its best multiplier (None: every grid point failed)

    def run_at(e, seed):
        """The run of entry e on seed, at its best lr when tuned (None when no lr worked)."""
        if not tuned(e):
            return next(r for r in expand(sweep, [e]) if r.seed == seed)
        return None if best[e.name] is None else lr_run(sweep, e, best[e.name], seed, defaults)

    def then(e, m):  # once a tuned entry's best lr is known: its other seeds there
        best[e.name] = m
        return [r for r in (run_at(e, s) for s in sweep.seeds[1:]) if r is not None]

    def measure(entries):
        """{name: the metric's mean over the seeds at the best lr (None: a run failed)}, or None when the sweep is
        stopping. Tunes on the first seed; each entry's other seeds start once its best lr is known."""
        out = tune_lr(sweep, runner, [e for e in entries if tuned(e)],
                      [run_at(e, s) for s in sweep.seeds for e in entries if not tuned(e)], defaults, then)
        if out is None:
            return None
        best.update(out[0])
        runs = {e.name: [run_at(e, s) for s in sweep.seeds] for e in entries}
        rows = out[2]
        losses = {}
        for e in entries:
            rs = runs[e.name]
            losses[e.name] = None if None in rs else mean_metric([rows.get(r.id) for r in rs], metric)
            m = best.get(e.name)
            lr = f" at lr x{'-' if m is None else f'{m:g}'} of {', '.join(f'{p:g}' for p in out[1][e.name])}" \
                if tuned(e) else ''
            print(f"bisect: {e.name}: {metric} {'failed' if losses[e.name] is None else f'{losses[e.name]:.4f}'}"
                  f" (mean of {len(sweep.seeds)} seeds){lr}", flush=True)
        return losses

    lo_entry, lo = bisect_run(sweep, b['lo'])
    hi_entry, hi = bisect_run(sweep, b['hi'])
    refs = [b['low_ref'], b['high_ref']]
    losses = measure(refs + [lo_entry, hi_entry])
    if losses is None:
        return None
    result = dict(sweep=sweep.name, key=b['key'], metric=metric, fraction=fraction, ratio=ratio, seeds=sweep.seeds,
                  low_ref=refs[0].name, high_ref=refs[1].name, low_ref_loss=losses[refs[0].name],
                  high_ref_loss=losses[refs[1].name], probes=[], lr_mult=best, answer=None, reached=False,
                  bracket=None)
    if None in (result['low_ref_loss'], result['high_ref_loss']):
        result['error'] = 'a reference run failed: no target'
        return finish_bisect(sweep, runner, result)
    target = result['low_ref_loss'] - fraction * (result['low_ref_loss'] - result['high_ref_loss'])
    result['target'] = target
    probes = result['probes'] = [(lo, losses[lo_entry.name]), (hi, losses[hi_entry.name])]
    if any(l is None for _, l in probes):
        result['error'] = 'an end of the range failed'
        return finish_bisect(sweep, runner, result)
    if probes[0][1] <= target:
        result.update(answer=lo, reached=True, bracket=[None, lo], note='lo already meets the target')
    elif probes[1][1] > target:
        result.update(bracket=[hi, None], note=f'hi={hi} does not meet the target: widen the range')
    else:
        for _ in range(b.get('probes', 8)):
            if ratio is not None and hi / lo <= ratio:
                break
            mid = math.sqrt(lo * hi)
            mid = int(round(mid)) if integer else mid
            if integer and not lo < mid < hi or not integer and hi / lo < 1.01:
                break
            entry, value = bisect_run(sweep, mid)
            got = measure([entry])
            if got is None:
                return None
            probes.append((value, got[entry.name]))
            if got[entry.name] is None:
                result['error'] = f"the probe {b['key']}={value} failed"
                break
            if got[entry.name] <= target:
                hi = value
            else:
                lo = value
        if 'error' not in result:
            result.update(answer=hi, reached=True, bracket=[lo, hi])
            if ratio is not None and hi / lo > ratio:
                result['note'] = f"probes={b.get('probes', 8)} ran out before hi/lo <= {ratio:g}"
    if 'error' not in result:
        probed = [bisect_run(sweep, v)[0] for v, _ in sorted(probes)]
        at = at_every_seed(sweep, runner, refs + probed, run_at, result)
        if at is None:
            return None
        result['at_seeds'] = at
    return finish_bisect(sweep, runner, result)


def at_every_seed(sweep, runner, entries, run_at, result):
    """The references and every probed value (entries) on every seed, at their best lr (rows replayed): per run
    its loss on each seed and their mean ± sample std, the target from the references' means, and whether the
    bracket holds on the means (lo above the target, hi at or below it). Means are over the seeds where every one
    of these runs succeeded, so that each is paired with the same references. None when the sweep is stopping."""
    runs = {e.name: [run_at(e, s) for s in sweep.seeds] for e in entries}
    rows = runner.run_all([r for rs in runs.values() for r in rs])
    if runner.stopping:
        return None
    metric, fraction = result['metric'], result['fraction']
    per = {name: [mean_metric([rows.get(r.id)], metric) for r in rs] for name, rs in runs.items()}
    common = [i for i in range(len(sweep.seeds)) if all(per[name][i] is not None for name in per)]
    out = dict(seeds=[sweep.seeds[i] for i in common], runs={}, target=None, holds=None)
    for e in entries:
        vals = [per[e.name][i] for i in common]
        m = sum(vals) / len(vals) if vals else None
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else None
        out['runs'][e.name] = dict(value=e.bisect_value, lr_mult=result['lr_mult'].get(e.name),
                                   losses={str(s): l for s, l in zip(sweep.seeds, per[e.name])}, mean=m, std=sd)
    if common:
        low, high = (out['runs'][result[k]]['mean'] for k in ('low_ref', 'high_ref'))
        out['target'] = target = low - fraction * (low - high)
        mean_of = {e.bisect_value: out['runs'][e.name]['mean'] for e in entries[2:]}
        lo, hi = result['bracket']
        out['holds'] = (lo is None or mean_of[lo] > target) and (hi is None or mean_of[hi] <= target)
    return out


def finish_bisect(sweep, runner, result):
    (runner.results / 'bisect.json').write_text(json.dumps(result, indent=2))
    if result.get('reached'):
        lo, hi = result['bracket']
        print(f"bisect: smallest {result['key']} meeting {result['metric']} <= {result['target']:.4f} "
              f"({result['fraction']:.0%} of the gap {result['low_ref']} {result['low_ref_loss']:.4f} -> "
              f"{result['high_ref']} {result['high_ref_loss']:.4f}) on the mean of seeds {result['seeds']}: "
              f"{result['answer']}"
              + (f' (bracket {lo} .. {hi})' if lo is not None else ''), flush=True)
    else:
        print(f"bisect: no answer: {result.get('error') or result.get('note')}", flush=True)
    at = result.get('at_seeds')
    if at:
        means = ', '.join(f"{name} {r['mean']:.4f}" for name, r in at['runs'].items() if r['mean'] is not None)
        verdict = 'no seed has every run' if at['target'] is None else \
            f"target {at['target']:.4f}: the bracket {'holds' if at['holds'] else 'does NOT hold'}"
        print(f"bisect: means over seeds {at['seeds']}: {means}; {verdict}", flush=True)
    return result


# -----------------------------------------------------------------------------

def all_entries(sweep):
    """Every run entry a sweep can train: its runs, and in bisect mode the references and the two ends."""
    entries = list(sweep.runs)
    if sweep.mode == 'bisect':
        b = sweep.bisect
        entries += [b['low_ref'], b['high_ref'], bisect_run(sweep, b['lo'])[0], bisect_run(sweep, b['hi'])[0]]
    return entries


def write_meta(sweep, results):
    """results/<sweep>/sweep.json: what report.py needs from the sweep file besides the rows (its references for
    the gap closed, its claims, its long phase), written atomically at every start."""
    meta = dict(name=sweep.name, path=sweep.path, gap=sweep.gap, claims=sweep.claims, long=sweep.long)
    tmp = results / 'sweep.json.tmp'
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, results / 'sweep.json')


def check_configs(sweep):
    """Every run's train.py config resolves (no unknown key, no value of the wrong type): a typo in the sweep file
    stops it before anything starts, instead of failing every run."""
    defaults = train_defaults()
    for run in {r.name: r for r in expand(sweep, all_entries(sweep))}.values():
        try:
            resolve_config(sweep, run.overrides, run.seed, defaults)
        except Exception as e:
            if getattr(e, 'exit_code', None) is None:
                raise
            raise SweepError(f'{sweep.path}: run {run.name}: {e}') from None


def main(argv):
    p = ArgumentParser(description='Run a sweep of train.py configs (see the docstring of sweep.py).')
    p.add_argument('sweep_file')
    p.add_argument('--jobs', type=int, default=None, help="train.py processes at a time (default: the file's jobs)")
    p.add_argument('--dry-run', action='store_true', help='list the runs, parameter counts and C_train; train nothing')
    p.add_argument('--retry-failed', action='store_true', help='train again the runs whose row says failed')
    p.add_argument('--results', default=str(RESULTS), help='parent folder of results/<sweep>/ (default: results)')
    args = p.parse_args(argv)
    sweep = load_sweep(args.sweep_file)
    jobs = args.jobs or sweep.jobs
    if jobs < 1:
        raise SweepError(f'--jobs={jobs} must be at least 1')
    results = Path(args.results) / sweep.name
    if args.dry_run:
        return dry_run(sweep, results)
    check_configs(sweep)
    make_dir(results, '--results')
    lock = open(results / '.lock', 'w')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise SweepError(f'another sweep.py is running {results}/ (its .lock is held); wait for it or stop it')
    write_meta(sweep, results)
    runner = Runner(sweep, results, jobs, retry_failed=args.retry_failed)
    signal.signal(signal.SIGINT, runner.stop)
    signal.signal(signal.SIGTERM, runner.stop)
    t0 = time.time()
    if sweep.mode == 'bisect':
        run_bisect(sweep, runner)
    else:
        run_grid(sweep, runner)
    if runner.stopping:
        return 130
    rows = runner.rows()
    failed = [r for r in rows.values() if r['status'] != 'ok']
    print(f'sweep {sweep.name}: {len(rows)} rows in {runner.rows_path} ({len(failed)} failed), '
          f'{time.time() - t0:.0f} s this time. Next: python report.py {results}', flush=True)
    return 0


if __name__ == '__main__':
    exit_on_user_error()
    sys.exit(main(sys.argv[1:]))
