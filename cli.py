"""
The few small things every script shares, each in one place: the one-line error exit, an argument parser that
uses it, making an output folder, reading a JSON-lines file, and a results.jsonl row: its fields and the choice of
a tuned run's learning rate (sweep.py writes and chooses, report.py reads and reports the same choice). Imports
nothing from the repo, so report.py can use it and still depend on the rest only through results.jsonl.
"""
import argparse
import json
import math
import os
import sys


class UsageError(ValueError):
    """A command line or input file the user can fix; the message names it and the fix."""
    exit_code = 2


def exit_on_user_error():
    """From now on an uncaught exception carrying `exit_code` (ConfigError, DataError, CheckpointError, SweepError,
    UsageError, ...) prints `error: <message>` on one line and exits with that code, without a traceback; Ctrl-C
    prints `error: interrupted` and exits 130; a closed pipe (`python sample.py | head`) ends the script quietly."""
    def hook(exc_type, exc, tb, default=sys.excepthook):
        if issubclass(exc_type, BrokenPipeError):
            os._exit(141)  # as if killed by SIGPIPE, the Unix way for a reader that stopped reading
        if issubclass(exc_type, KeyboardInterrupt):
            code, message = 130, 'interrupted'
        elif getattr(exc_type, 'exit_code', None) is not None:
            code, message = exc_type.exit_code, ' '.join(str(exc).split('\n'))  # always one line
        else:
            return default(exc_type, exc, tb)
        sys.stdout.flush()
        print(f'error: {message}', file=sys.stderr, flush=True)
        os._exit(code)  # no traceback; a run that never started or already saved has nothing to clean up
    sys.excepthook = hook


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a bad flag reported as one `error:` line (exit 2) instead of a usage block; the description
    (a script's docstring) is shown as written."""
    def __init__(self, *args, formatter_class=argparse.RawDescriptionHelpFormatter, **kw):
        super().__init__(*args, formatter_class=formatter_class, **kw)

    def error(self, message):
        raise UsageError(f'{message} (see python {sys.argv[0]} --help)')


def make_dir(path, key):
    """os.makedirs(path), or a UsageError naming the option (key) that gave the path."""
    if not str(path):
        raise UsageError(f'{key} is empty: give a folder, e.g. {key}=out')
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{key}={path}: cannot create this folder ({e.strerror or e}); give a folder you can "
                         f"write to") from None


def read_jsonl(path):
    """The records of a JSON-lines file ([] if there is none). A last line cut short by a kill is skipped; a bad
    line anywhere else is a UsageError naming the file and the line."""
    try:
        with open(path, encoding='utf-8') as f:
            lines = [(i, line) for i, line in enumerate(f, 1) if line.strip()]
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f'{path} cannot be read ({e}): is it a JSON-lines file?') from None
    out = []
    for k, (i, line) in enumerate(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            if k == len(lines) - 1 and not line.endswith('\n'):
                break  # cut short by a kill while it was being written
            raise UsageError(f'{path} line {i} is not JSON: {line.strip()[:60]!r}; fix or delete that line') from None
    return out


# -----------------------------------------------------------------------------
# a results.jsonl row: one per run (sweep.py), read by report.py

RUN_FIELDS = ('sweep', 'name', 'run', 'family', 'seed', 'overrides', 'config_files', 'status', 'error', 'returncode',
              'resumed', 'bisect_value')
# a tuned run: its multiplier of the base learning_rate (null when not tuned) and the learning_rate it ran at; a
# long-budget run: its compute as a multiple of the sweep's budget (null for the sweep's own runs)
TUNING_FIELDS = ('lr_mult', 'learning_rate', 'budget')
# parameters (train.py's config.json `params`)
PARAM_FIELDS = ('trainable', 'trainable_embedding', 'trainable_nonembedding', 'frozen', 'emulated_nonembedding',
                'checkpoint_bytes')
# how far it trained, and the compute it took: C_train = 6 N_trainable_nonembedding tokens, C_actual the structural
# FLOPs, C_frozen_2_3 / C_frozen_0 frozen weights costing 2/3 / 0 of a trainable one
COMPUTE_FIELDS = ('iters', 'tokens', 'C_train', 'C_actual', 'C_frozen_2_3', 'C_frozen_0')
# losses (nats/token) and bits per byte
LOSS_FIELDS = ('final_val_loss', 'best_val_loss', 'final_train_loss', 'final_val_bpb', 'best_val_bpb')
# cost: wall_time = seconds of every train.py attempt of the run, cpu_time their user + sys seconds (of the attempts
# that recorded it); peak_mem in bytes, peak_mem_kind says which
COST_FIELDS = ('wall_time', 'cpu_time', 'train_seconds', 'peak_mem', 'peak_mem_kind')
# the model's own bytes after its first step (train.py, model.memory_report): parameters + frozen buffers +
# gradients + optimizer state, and the activations a training forward saves, per token
MEMORY_FIELDS = ('model_bytes', 'activation_bytes_per_token')
# when val loss first reached target_loss: train.py's target_reached (checked every few steps near the target),
# else the first eval at or below it (all null if never reached)
TARGET_FIELDS = ('target_loss', 'iter_to_target', 'tokens_to_target', 'time_to_target', 'C_train_to_target',
                 'C_actual_to_target')
# every eval: [{iter, tokens, val_loss, train_loss, val_bpb, C_train, C_actual, C_frozen_2_3, seconds}]
ROW_FIELDS = (RUN_FIELDS + TUNING_FIELDS + PARAM_FIELDS + COMPUTE_FIELDS + LOSS_FIELDS + COST_FIELDS + MEMORY_FIELDS +
              TARGET_FIELDS + ('curve',))
# the measured numbers of a run, which report.py averages over its seeds
NUMBER_FIELDS = tuple(k for k in PARAM_FIELDS + COMPUTE_FIELDS + LOSS_FIELDS + COST_FIELDS + MEMORY_FIELDS +
                      TARGET_FIELDS if k not in ('peak_mem_kind', 'target_loss'))


def run_loss(row):
    """A run's final val loss for choosing its learning rate: inf when it failed (a diverged lr loses)."""
    loss = row.get('final_val_loss') if row and row['status'] == 'ok' else None
    return loss if loss is not None and math.isfinite(loss) else float('inf')


def best_lr(losses):
    """The multiplier of lowest loss in {mult: loss}; on a tie the smaller multiplier. None if every run failed."""
    mult, loss = min(losses.items(), key=lambda kv: (kv[1], kv[0]))
    return mult if math.isfinite(loss) else None
