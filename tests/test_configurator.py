"""configurator.py: nanoGPT's --key=value and config-file semantics, with unknown keys and bad types refused."""
import sys

import pytest

from conftest import REPO
from model import ConfigError

DEFAULTS = dict(batch_size=32, learning_rate=3e-3, compile=False, dataset='pystdlib_char', start='\n',
                attn_rank=0.25, share='none')


def configure(*argv, files=()):
    ns = dict(DEFAULTS, config_keys=list(DEFAULTS), config_types={'attn_rank': (int, float, list),
                                                                  'share': (str, int)})
    old = sys.argv
    sys.argv = ['train.py', *argv]
    try:
        exec(open(REPO / 'configurator.py').read(), ns)
    finally:
        sys.argv = old
    return {k: ns[k] for k in DEFAULTS}


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
