"""
Checkpoints: written atomically, loaded with weights_only=True, failures explained in one line.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (no pickled objects). Frozen random
tensors are not in it: the model rebuilds them from the seeds in its config. Its 'format' says how they are drawn:
1 (no key): a CPU torch.Generator per tensor; 2: the counter-based generator of kernels/philox.py. A checkpoint of
another format would load into silently different weights, so it is refused.
"""
import os
import torch

FORMAT = 2


class CheckpointError(RuntimeError):
    exit_code = 2


def save_checkpoint(obj, path):
    """torch.save to a temp file in the same folder, fsync, rename over `path`, fsync the folder. A crash or a
    full disk at any point leaves the previous file at `path` untouched."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f'.{os.path.basename(path)}.tmp.{os.getpid()}')
    try:
        with open(tmp, 'wb') as f:
            torch.save({**obj, 'format': FORMAT}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise CheckpointError(f'could not save {path}: {e.strerror or e}; the previous checkpoint is intact') from e
        raise
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_checkpoint(path, map_location='cpu'):
    """The checkpoint dict at `path`, or a CheckpointError naming the file and what is wrong with it."""
    if not os.path.isfile(path):
        raise CheckpointError(f'no checkpoint at {path}: train one first (python train.py --out_dir=...) '
                              f'or point --out_dir at a run folder')
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f'{path} is not a readable checkpoint (truncated or not a nanoreparam file): '
                              f'{first[:200]}') from e
    if not isinstance(ckpt, dict) or 'model' not in ckpt or 'model_args' not in ckpt:
        raise CheckpointError(f'{path} is not a nanoreparam checkpoint (no model / model_args entries)')
    version = ckpt.get('format', 1)
    if version < FORMAT:
        raise CheckpointError(f'{path} was written by an older nanoreparam whose frozen random tensors were drawn '
                              f'differently (format {version}); retrain, or check out a commit before the counter-based '
                              f'generator (git log --diff-filter=A -- kernels/philox.py)')
    if version > FORMAT:
        raise CheckpointError(f'{path} was written by a newer nanoreparam (format {version}, this one reads '
                              f'{FORMAT}); update this checkout')
    return ckpt


def load_model_state(model, state, path):
    """Load trainable tensors into a model rebuilt from the checkpoint's config; explain any mismatch."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        detail = ' '.join(str(e).split())[:300]
        raise CheckpointError(f'{path} does not match the model built from its config: {detail}') from e
