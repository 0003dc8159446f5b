"""
nanoGPT's "poor man's configurator", with its sharp edges filed off. Exec'd by train.py and sample.py:

    python train.py config/lowrank_d20.py --batch_size=32 --attn_rank=[64,32,16,8]

Each argument is either a config file (plain Python assignments, run in order) or --key=value. The script
that execs this file defines `config_keys` (the names a user may set) before it, and optionally
`config_types` (key -> allowed types, for keys that take more than one type). Unknown keys, in a file or on
the command line, are rejected with the closest valid names; values are parsed with ast.literal_eval and
type-checked against the default (an int is accepted for a float, true/false for a bool, a bare word for a
string). Names starting with '_' in a config file are private helpers and are left alone.

It also installs the one-line error handler: any exception carrying `exit_code` (ConfigError, DataError,
CheckpointError) prints `error: <message>` and exits with that code, without a traceback.
"""
import ast
import builtins as _builtins
import difflib
import os
import sys
import types as _types


from model import ConfigError


def _user_error_hook(exc_type, exc, tb, _default=sys.excepthook):
    code = getattr(exc_type, 'exit_code', None)
    if code is None:
        return _default(exc_type, exc, tb)
    sys.stdout.flush()
    print(f'error: {exc}', file=sys.stderr, flush=True)
    os._exit(code)  # no traceback; nothing else to clean up for a run that never started or already saved


sys.excepthook = _user_error_hook


def _closest(key):
    near = difflib.get_close_matches(key, config_keys, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(near)}?" if near else f'; see the defaults at the top of {sys.argv[0]}'


def _check(key, value, where):
    if key not in config_keys:
        raise ConfigError(f"unknown config key '{key}' {where}{_closest(key)}")
    default = globals()[key]
    allowed = config_types.get(key) if 'config_types' in globals() else None
    allowed = allowed or ((int, float) if type(default) is float else (type(default),))
    if isinstance(value, bool) and bool not in allowed:
        ok = False
    else:
        ok = isinstance(value, allowed)
    if not ok:
        names = ' or '.join(t.__name__ for t in allowed)
        raise ConfigError(f'{key}={value!r} {where} has type {type(value).__name__}, expected {names} '
                          f'(default {default!r})')
    return float(value) if type(default) is float and allowed == (int, float) else value


def _parse(text):
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word is a string: --dataset=shakespeare_char


for _arg in sys.argv[1:]:
    if not _arg.startswith('--'):
        if not os.path.isfile(_arg):
            raise ConfigError(f"config file '{_arg}' not found; config files live in config/, e.g. config/lowrank_small.py")
        _ns = {k: globals()[k] for k in config_keys}
        try:
            exec(_builtins.compile(open(_arg).read(), _arg, 'exec'), _ns)  # train.py has a `compile` key
        except Exception as _e:
            raise ConfigError(f'config file {_arg} failed to run: {type(_e).__name__}: {_e}')
        for _k, _v in _ns.items():
            if _k.startswith('_') or isinstance(_v, (_types.ModuleType, _types.FunctionType, type)):
                continue
            if _k in config_keys and _v is globals()[_k]:
                continue
            globals()[_k] = _check(_k, _v, f'in {_arg}')
    else:
        _key, _eq, _val = _arg[2:].partition('=')
        if not _eq:
            raise ConfigError(f"argument '{_arg}' needs a value: --{_key}=VALUE")
        globals()[_key] = _check(_key, _parse(_val), 'on the command line')
