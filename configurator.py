"""
nanoGPT's "poor man's configurator", with its sharp edges filed off, as a function. train.py (and sample.py,
`python model.py`, sweep.py) call it on their defaults:

    python train.py config/lowrank_d20.py --batch_size=32 --attn_rank=[64,32,16,8]

Each argument is either a config file (plain Python assignments, run in order) or --key=value. Unknown keys, in a
file or on the command line, are rejected with the closest valid names; values are parsed with ast.literal_eval and
type-checked against the default (an int is accepted for a float, true/false for a bool, a bare word for a string;
`types` lists the keys that take more than one type). Names starting with '_' in a config file are private helpers
and are left alone. This is the only code that runs config files (and sweep files).
"""
import ast
import builtins
import difflib
import os
import runpy
import sys
import types as _types
import typing

from model import ConfigError


def run_file(path, ns, what='config file'):
    """exec the Python file at `path` in the dict `ns`; an error inside it becomes one line naming the file. The file
    may call include('config/other.py') to run another file first, in the same namespace (a base config)."""
    ns.setdefault('include', lambda other: run_file(other, ns, what))
    try:
        exec(builtins.compile(open(path).read(), path, 'exec'), ns)  # builtins': train.py has a `compile` key
    except Exception as e:
        if getattr(e, 'exit_code', None) is not None:
            raise
        raise ConfigError(f'{what} {path} failed to run: {type(e).__name__}: {e}') from None
    return ns


def _parse(text):
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word is a string: --dataset=shakespeare_char


def _check(key, value, where, config, types, script):
    if key not in config:
        near = difflib.get_close_matches(key, list(config), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else f'; see the defaults at the top of {script}'
        raise ConfigError(f"unknown config key '{key}' {where}{hint}")
    default = config[key]  # the value so far: the default, or what an earlier argument set
    allowed = types.get(key) or ((int, float) if type(default) is float else (type(default),))
    ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
    if not ok:
        names = ' or '.join(t.__name__ for t in allowed)
        raise ConfigError(f'{key}={value!r} {where} has type {type(value).__name__}, expected {names} '
                          f'(default {default!r})')
    return float(value) if type(default) is float and allowed == (int, float) else value


class _Defaults(Exception):
    """Raised by configure() under defaults_of(): carries the script's defaults and types."""


_reading_defaults = []


def configure(defaults, argv, types=None, script=None):
    """defaults overridden by argv (config files and --key=value, in order): a new dict with the same keys.
    types: {key: (allowed types)} for keys that take more than one type. script names the defaults' home in the
    unknown-key message (default: the running script)."""
    types = types or {}
    if _reading_defaults:
        raise _Defaults(dict(defaults), dict(types))
    script = script or os.path.basename(sys.argv[0])
    config = dict(defaults)
    if '--help' in argv or '-h' in argv:  # the script's docstring, then every key with its default
        print((sys.modules['__main__'].__doc__ or '').strip() + '\n\nconfig keys (config files, then --key=value):')
        print('\n'.join(f'  --{k}={v if isinstance(v, str) else repr(v)}' for k, v in defaults.items()))
        sys.exit(0)
    for arg in argv:
        if not arg.startswith('--'):
            if not os.path.isfile(arg):
                raise ConfigError(f"config file '{arg}' not found; config files live in config/, e.g. "
                                  f"config/lowrank_small.py")
            ns = run_file(arg, dict(config))
            for k, v in ns.items():
                if k.startswith('_') or isinstance(v, (_types.ModuleType, _types.FunctionType, type)):
                    continue
                if k in config and v is config[k]:
                    continue
                config[k] = _check(k, v, f'in {arg}', config, types, script)
        else:
            key, eq, val = arg[2:].partition('=')
            if not eq:
                raise ConfigError(f"argument '{arg}' needs a value: --{key}=VALUE")
            config[key] = _check(key, _parse(val), 'on the command line', config, types, script)
    return config


def defaults_of(script):
    """(defaults, types) of a script that calls configure() (sweep.py reads train.py's): the script runs up to its
    configure() call and stops there, before anything is built or written."""
    _reading_defaults.append(script)
    hook = sys.excepthook  # the script may install its error handler before configure(): not ours to keep
    try:
        runpy.run_path(str(script), run_name='__defaults__')
    except _Defaults as d:
        return d.args
    finally:
        _reading_defaults.pop()
        sys.excepthook = hook
    raise ConfigError(f'{script} never calls configure()')


def types_of(dataclass):
    """{field: allowed types} for the fields of a dataclass annotated with a Union (e.g. GPTConfig.attn_rank)."""
    return {k: typing.get_args(t) for k, t in typing.get_type_hints(dataclass).items()
            if typing.get_origin(t) is typing.Union}


def pick_device(device):
    """'auto' -> the best device here; anything else is checked: cpu, cuda, cuda:N (that exists here) or mps."""
    import torch
    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'mps' if torch.backends.mps.is_available() else 'cpu'
    kind, _, index = device.partition(':')
    if not (device in ('cpu', 'cuda', 'mps') or kind == 'cuda' and index.isdigit()):
        raise ConfigError(f"device='{device}' must be auto, cpu, cuda, cuda:N or mps")
    if kind == 'cuda' and not torch.cuda.is_available():
        raise ConfigError(f"device='{device}' but CUDA is not available here; use --device=cpu")
    if kind == 'cuda' and index and int(index) >= torch.cuda.device_count():
        raise ConfigError(f"device='{device}' but this machine has {torch.cuda.device_count()} CUDA devices; "
                          f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    if device == 'mps' and not torch.backends.mps.is_available():
        raise ConfigError("device='mps' but MPS is not available here; use --device=cpu")
    return device
