"""config/: every shipped config file resolves through the configurator against train.py's defaults (each key known,
each value of the right type, each include found) and builds its model; the numbers their headers quote are the ones
the model's accounting gives."""
import pytest
import torch

import sweep as sw
from configurator import configure
from conftest import REPO
from model import GPT, config_from_dict, layer_pattern

CONFIGS = sorted(p.name for p in (REPO / 'config').glob('*.py'))


def resolve(name):
    defaults, types = sw.train_defaults()
    return configure(defaults, [f'config/{name}'], types, script='train.py')


def build(cfg, vocab_size):
    with torch.device('meta'):  # no weights allocated: a d20 model builds in a second
        return GPT(config_from_dict(dict(cfg, vocab_size=vocab_size)))


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_file_resolves_and_builds_its_model(name, monkeypatch):
    monkeypatch.chdir(REPO)  # include('config/...') is relative to the repo root, as the README runs it
    cfg = resolve(name)
    model = build(cfg, 65536 if cfg['dataset'] == 'fineweb_edu' else 218)
    assert model.param_counts()['trainable_nonembedding'] > 0 and model.flops_per_token()['C_actual'] > 0
    # each writes its own out_dir: no config overwrites another's checkpoints
    assert cfg['out_dir'] != 'out' and cfg['out_dir'] in (REPO / 'config' / name).read_text()


def test_the_d20_headers_quote_the_models_own_counts(monkeypatch):
    """lowrank_d20.py: 98.4M non-embedding trainable against dense's 393.3M, C_train 0.59 against 2.36 GFLOP/token."""
    monkeypatch.chdir(REPO)
    dense, lowrank = (build(resolve(f'{k}_d20.py'), 65536) for k in ('dense', 'lowrank'))
    assert round(dense.param_counts()['trainable_nonembedding'] / 1e6, 1) == 393.3
    assert round(lowrank.param_counts()['trainable_nonembedding'] / 1e6, 1) == 98.4
    assert round(dense.flops_per_token()['C_train'] / 1e9, 2) == 2.36
    assert round(lowrank.flops_per_token()['C_train'] / 1e9, 2) == 0.59


@pytest.mark.parametrize('name, layers, trainable, width, heads', [
    ('lighton_doped_xsmall.py', 5, 3, 768, 12),   # Chatelain et al. 2021, Table 2
    ('lighton_doped_small.py', 11, 6, 768, 12),
    ('lighton_doped_medium.py', 23, 12, 1024, 16)])
def test_the_lighton_doped_configs_are_the_papers_table_2(name, layers, trainable, width, heads, monkeypatch):
    monkeypatch.chdir(REPO)
    cfg = resolve(name)
    pattern = layer_pattern(config_from_dict(dict(cfg, vocab_size=65536)))
    assert (len(pattern), pattern.count('T'), pattern.count('F')) == (layers, trainable, layers - trainable)
    assert pattern[0] == pattern[-1] == 'T' and 'FF' not in pattern and 'TT' not in pattern
    assert (cfg['n_embd'], cfg['n_head'], cfg['block_size'], cfg['dropout']) == (width, heads, 1024, 0.1)
    assert cfg['batch_size'] * cfg['gradient_accumulation_steps'] == 80
