"""checkpoint.py: a save interrupted at any point leaves the previous checkpoint loadable; a bad file is
named in one line."""
import os

import pytest
import torch

import checkpoint
from checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def ckpt(value):
    return dict(model={'w': torch.full((4, 4), float(value))}, model_args={'n_layer': 1}, iter_num=value)


def test_save_then_load_round_trips(tmp_path):
    save_checkpoint(ckpt(1), tmp_path / 'ckpt.pt')
    assert load_checkpoint(tmp_path / 'ckpt.pt')['iter_num'] == 1
    assert os.listdir(tmp_path) == ['ckpt.pt']  # no temp file left behind


def test_a_failure_between_write_and_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pt'
    save_checkpoint(ckpt(1), path)

    def crash_before_rename(src, dst):
        with open(src, 'r+b') as f:   # the new file is half-written when the machine "dies"
            f.truncate(os.path.getsize(src) // 2)
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(checkpoint.os, 'replace', crash_before_rename)
    with pytest.raises(CheckpointError, match='No space left on device; the previous checkpoint is intact'):
        save_checkpoint(ckpt(2), path)
    monkeypatch.undo()
    assert load_checkpoint(path)['iter_num'] == 1
    assert os.listdir(tmp_path) == ['ckpt.pt']


def test_a_failure_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pt'
    save_checkpoint(ckpt(1), path)

    def full_disk(obj, f):
        f.write(b'partial bytes')
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(checkpoint.torch, 'save', full_disk)
    with pytest.raises(CheckpointError):
        save_checkpoint(ckpt(2), path)
    monkeypatch.undo()
    assert load_checkpoint(path)['iter_num'] == 1


def test_a_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / 'ckpt.pt'
    save_checkpoint(ckpt(1), path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])
    with pytest.raises(CheckpointError, match=f'{path} is not a readable checkpoint'):
        load_checkpoint(path)


def test_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / 'other.pt'
    torch.save({'state_dict': {}}, path)
    with pytest.raises(CheckpointError, match='not a nanoreparam checkpoint'):
        load_checkpoint(path)


def test_pickled_objects_are_refused_by_weights_only(tmp_path):
    path = tmp_path / 'evil.pt'
    torch.save(dict(model={}, model_args=object()), path)
    with pytest.raises(CheckpointError, match='not a readable checkpoint'):
        load_checkpoint(path)


@pytest.mark.parametrize('version', [None, 1])
def test_a_checkpoint_from_before_the_counter_based_generator_is_refused(tmp_path, version):
    path = tmp_path / 'ckpt.pt'
    old = ckpt(1) if version is None else {**ckpt(1), 'format': version}   # format 1 wrote no key
    torch.save(old, path)
    with pytest.raises(CheckpointError, match=f'{path} was written by an older nanoreparam whose frozen random '
                                              f'tensors were drawn differently \\(format 1\\); retrain'):
        load_checkpoint(path)
    save_checkpoint(ckpt(1), path)                       # what this version writes loads
    assert load_checkpoint(path)['format'] == checkpoint.FORMAT == 2


def test_a_checkpoint_from_another_config_is_explained(tmp_path):
    from model import GPT, GPTConfig
    from checkpoint import load_model_state
    small = GPT(GPTConfig(vocab_size=16, n_layer=1, n_head=2, n_embd=16))
    other = GPT(GPTConfig(vocab_size=16, n_layer=1, n_head=2, n_embd=32))
    with pytest.raises(CheckpointError, match='does not match the model built from its config'):
        load_model_state(other, small.state_dict(), 'x/ckpt.pt')

