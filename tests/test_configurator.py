"""configurator.py: nanoGPT's --key=value and config-file semantics, with unknown keys and bad types refused, as a
function every script calls (train.py, sample.py, model.py, sweep.py)."""
import sys

import pytest

import configurator
from conftest import REPO, run
from model import ConfigError, GPTConfig

DEFAULTS = dict(batch_size=32, learning_rate=3e-3, compile=False, dataset='pystdlib_char', start='\n',
                attn_rank=0.25, share='none')


def configure(*argv):
    return configurator.configure(DEFAULTS, list(argv), {'attn_rank': (int, float, list), 'share': (str, int)})


def test_command_line_values_are_parsed_by_type():
    c = configure('--batch_size=8', '--learning_rate=1e-4', '--compile=true', '--dataset=shakespeare_char')
    assert c['batch_size'] == 8 and c['learning_rate'] == 1e-4 and c['compile'] is True
    assert c['dataset'] == 'shakespeare_char'


def test_an_int_is_accepted_for_a_float():
    c = configure('--learning_rate=1')
    assert c['learning_rate'] == 1.0 and isinstance(c['learning_rate'], float)


def test_equals_sign_inside_a_value_is_kept():
    assert configure('--start=x = 1')['start'] == 'x = 1'


def test_lists_parse_for_keys_that_take_them():
    assert configure('--attn_rank=[64, 32, 16]')['attn_rank'] == [64, 32, 16]
    assert configure('--attn_rank=16')['attn_rank'] == 16
    assert configure('--share=2')['share'] == 2


def test_config_file_then_command_line_in_order(tmp_path):
    f = tmp_path / 'exp.py'
    f.write_text('import math as _math\nbatch_size = 4\nlearning_rate = _math.sqrt(1e-6)\n')
    c = configure(str(f), '--batch_size=6')
    assert c['batch_size'] == 6 and c['learning_rate'] == pytest.approx(1e-3)


def test_unknown_key_on_the_command_line_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown config key 'batch_sise' on the command line; did you mean batch_size"):
        configure('--batch_sise=3')


def test_unknown_key_in_a_config_file_names_the_file(tmp_path):
    f = tmp_path / 'exp.py'
    f.write_text('learning_rat = 0.1\n')
    with pytest.raises(ConfigError, match=f"unknown config key 'learning_rat' in {f}; did you mean learning_rate"):
        configure(str(f))


def test_type_mismatch_is_explained():
    with pytest.raises(ConfigError, match="batch_size='big' on the command line has type str, expected int"):
        configure('--batch_size=big')
    with pytest.raises(ConfigError, match='expected bool'):
        configure('--compile=1')


def test_missing_config_file_is_named():
    with pytest.raises(ConfigError, match="config file 'config/missing.py' not found"):
        configure('config/missing.py')


def test_a_failing_config_file_is_reported_in_one_line(tmp_path):
    f = tmp_path / 'broken.py'
    f.write_text('batch_size = 1 / 0\n')
    with pytest.raises(ConfigError, match='failed to run: ZeroDivisionError'):
        configure(str(f))


def test_the_defaults_are_not_changed_and_a_new_dict_is_returned():
    before = dict(DEFAULTS)
    c = configure('--batch_size=8')
    assert DEFAULTS == before and c is not DEFAULTS and c['batch_size'] == 8


def test_union_annotated_model_keys_take_each_of_their_types():
    types = configurator.types_of(GPTConfig)
    assert types['attn_rank'] == (int, float, list) and types['share'] == (str, int) and types['doped'] == (bool, str)
    assert 'n_layer' not in types                                       # one type: checked against the default


def test_defaults_of_train_py_reads_its_defaults_without_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                                         # train.py would write out/ here
    defaults, types = configurator.defaults_of(REPO / 'train.py')
    assert defaults['max_iters'] == 1000 and defaults['out_dir'] == 'out' and defaults['linear'] == 'dense'
    assert defaults['attn_rank'] == GPTConfig().attn_rank              # GPTConfig fields are train.py keys too
    assert 'vocab_size' not in defaults and configurator.types_of(GPTConfig).items() <= types.items()
    assert list(tmp_path.iterdir()) == []
    assert sys.excepthook is sys.__excepthook__ or sys.excepthook.__module__ != 'cli'  # train.py's handler not kept


def test_the_function_and_python_train_py_refuse_bad_input_with_the_same_line():
    """sweep.py resolves a run's config with configure(); train.py must say exactly the same."""
    defaults, types = configurator.defaults_of(REPO / 'train.py')
    with pytest.raises(ConfigError) as e:
        configurator.configure(defaults, ['--n_layer=2', '--zzzz=3'], types, script='train.py')
    assert 'see the defaults at the top of train.py' in str(e.value)
    r = run('train.py', '--n_layer=2', '--zzzz=3')
    assert r.returncode == 2 and r.stderr.strip() == f'error: {e.value}'


def test_configurator_is_the_only_code_that_runs_python_files():
    """No second configurator: no other script execs a file or parses train.py to learn its defaults (config files
    themselves are plain Python run by the configurator, and include one another through it)."""
    import re
    for path in REPO.glob('**/*.py'):
        if path.name == 'configurator.py' or {'tests', '.venv'} & set(path.relative_to(REPO).parts):
            continue
        text = path.read_text()
        assert not re.search(r'\bexec\(|\brunpy\b|ast\.parse', text), path


def test_a_config_file_includes_a_base_config_through_the_configurator(tmp_path):
    base, top = tmp_path / 'base.py', tmp_path / 'top.py'
    base.write_text('batch_size = 4\nlearning_rate = 1e-3\n')
    top.write_text(f"include({str(base)!r})\nlearning_rate = 2e-3\n")
    c = configure(str(top))
    assert c['batch_size'] == 4 and c['learning_rate'] == 2e-3
    top.write_text("include('nowhere.py')\n")
    with pytest.raises(ConfigError, match='nowhere.py'):
        configure(str(top))


@pytest.mark.parametrize('script,flag,key', [('train.py', '--help', '--learning_rate=0.003'),
                                             ('sample.py', '-h', '--temperature=0.8'),
                                             ('export.py', '--help', '--out_dir=out')])
def test_help_prints_the_usage_and_every_key_with_its_default(script, flag, key):
    r = run(script, flag, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] and 'config keys (config files, then --key=value):' in lines and f'  {key}' in lines
