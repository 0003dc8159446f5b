"""
Sample from a trained model, any variant, with a KV cache:

    python sample.py                                   # out/ckpt.pt
    python sample.py --out_dir=out-lowrank --start="def " --num_samples=3 --max_new_tokens=300
    python sample.py --start=FILE:prompt.txt --temperature=0.8 --top_p=0.95

The model is rebuilt from the checkpoint's config (frozen tensors regenerate from its seeds), the trained
tensors are loaded, and tokens are printed as they are generated.
"""
import os
import sys
import torch

from model import GPT, ConfigError, config_from_dict
from checkpoint import load_checkpoint, load_model_state
from configurator import configure, pick_device
from cli import exit_on_user_error
from data.common import DATA_ROOT
from data.tokenizer import load_tokenizer

# -----------------------------------------------------------------------------
out_dir = 'out'
ckpt = 'ckpt.pt'          # or best.pt
start = '\n'              # prompt text, or FILE:path to read it from a file
num_samples = 2
max_new_tokens = 500
temperature = 0.8         # > 0; lower is more conservative
top_k = 0                 # 0 = off
top_p = 1.0               # nucleus sampling, in (0, 1]; 1 = off
seed = 1337
device = 'auto'
config_keys = [k for k, v in globals().items() if not k.startswith('_') and isinstance(v, (int, float, bool, str))]
exit_on_user_error()  # bad input: one line, exit 2, no traceback
globals().update(configure({k: globals()[k] for k in config_keys}, sys.argv[1:]))  # config files, --key=value
# -----------------------------------------------------------------------------

if not temperature > 0:
    raise ConfigError(f'temperature={temperature} must be > 0 (use a small value such as 0.01 for near-greedy)')
if not 0 < top_p <= 1:
    raise ConfigError(f'top_p={top_p} must be in (0, 1]')
if top_k < 0:
    raise ConfigError(f'top_k={top_k} must be 0 (off) or positive')
if num_samples < 1 or max_new_tokens < 1:
    raise ConfigError(f'num_samples={num_samples} and max_new_tokens={max_new_tokens} must be at least 1')
if start.startswith('FILE:'):
    path = start[5:]
    if not os.path.isfile(path):
        raise ConfigError(f"start file '{path}' not found (--start=FILE:path reads the prompt from a file)")
    with open(path, encoding='utf-8') as f:
        start = f.read()
if start == '':
    raise ConfigError("start is empty: give a prompt, e.g. --start='def ' (the default is a newline)")
device = pick_device(device)

path = os.path.join(out_dir, ckpt)
checkpoint = load_checkpoint(path)
model = GPT(config_from_dict(checkpoint['model_args']))
load_model_state(model, checkpoint['model'], path)
model.eval().to(device)
tokenizer = load_tokenizer(checkpoint['config'].get('data_dir') or DATA_ROOT / checkpoint['config']['dataset'])

ids = tokenizer.encode(start)
if not ids:
    raise ConfigError(f'start={start!r} encodes to no tokens with the {checkpoint["config"]["dataset"]} tokenizer')
x = torch.tensor(ids, dtype=torch.long, device=device)[None, :]
gen = torch.Generator(device=device).manual_seed(seed)
for k in range(num_samples):
    print(start, end='', flush=True)
    pending = []  # a token may end mid-character (BPE): print once the bytes decode cleanly
    for next_id in model.generate(x, max_new_tokens, temperature=temperature, top_k=top_k or None,
                                  top_p=top_p, generator=gen):
        pending.append(next_id.item())
        text = tokenizer.decode(pending)
        if '\ufffd' not in text:
            print(text, end='', flush=True)
            pending = []
    print(tokenizer.decode(pending) if pending else '')
    print('---------------')
