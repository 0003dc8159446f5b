"""export.py: every variant, exported as a plain transformers model, gives this repo's logits and greedy tokens;
the tokenizers round-trip. Skipped without transformers (pip install -r requirements-export.txt)."""
from dataclasses import asdict

import pytest
import torch

from conftest import run
from checkpoint import save_checkpoint
from model import GPT, GPTConfig

transformers = pytest.importorskip('transformers')
export = pytest.importorskip('export')
from data.tokenizer import load_tokenizer  # noqa: E402
from data import tokenizer as T  # noqa: E402

VARIANTS = {
    'dense': {},
    'lowrank': dict(linear='lowrank', attn_rank=4, mlp_rank=[4, 8]),
    'lora': dict(linear='lora', attn_rank=4, mlp_rank=4, lora_alpha=8.0),
    'frozen': dict(linear='frozen'),
    'fastfood': dict(linear='fastfood'),
    'blockdiag': dict(linear='blockdiag', blocks=4),
    'basis': dict(linear='basis', basis_dim=4),
    'intrinsic': dict(linear='intrinsic', intrinsic_dim=16, intrinsic_said=True),
    'doped': dict(n_layer=3, doped=True),
    'share': dict(n_layer=3, share='all', mlp_linear='lowrank', mlp_rank=4),
    'factorized embd, tied': dict(embd_dim=8, tie_embeddings=True),
    'tied': dict(tie_embeddings=True),
    'swiglu': dict(mlp='swiglu'),
    'swiglu doped': dict(mlp='swiglu', n_layer=3, doped='TFT', linear='lowrank', attn_rank=4, mlp_rank=4),
    'gelu': dict(mlp='gelu', linear='blockdiag', blocks=2),
}
PROMPT = 'def f(self):\n    return '


def tiny_model(vocab_size, **kw):
    """A tiny model whose every trainable tensor is moved away from its init: norm gains not 1, LoRA's B not 0,
    basis coefficients not 0, and a head large enough that greedy decoding is far from ties."""
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=vocab_size, block_size=48, n_layer=kw.pop('n_layer', 2), n_head=2, n_embd=32, **kw)
    model = GPT(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'lm_head' in name or (cfg.tie_embeddings and 'wte' in name):
                p.normal_(0, 1.0)
            else:
                scale = p.abs().mean().item() or 0.1
                p.add_(torch.randn_like(p) * 0.3 * scale)
    return model.eval()


def save_tiny(model, path, data_dir):
    save_checkpoint(dict(model=model.state_dict(), model_args=asdict(model.config),
                         config=dict(dataset='tiny', data_dir=str(data_dir))), path)


@pytest.mark.parametrize('variant', VARIANTS)
def test_exported_model_gives_the_same_logits_and_greedy_tokens(tmp_path, tiny_data, variant):
    tok = load_tokenizer(tiny_data)
    model = tiny_model(tok.vocab_size, **dict(VARIANTS[variant]))
    save_tiny(model, tmp_path / 'ckpt.pt', tiny_data)
    export.export(tmp_path / 'ckpt.pt', tmp_path / 'hf')
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / 'hf').eval()   # no trust_remote_code
    assert hf.config.model_type == ('qwen3' if model.config.mlp == 'swiglu' else 'nanochat')
    idx = torch.randint(0, tok.vocab_size, (2, 48), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = model(idx)[0], hf(idx).logits
    assert ours.std() > 0.3                                  # a non-trivial model
    assert (ours - theirs).abs().max() < 1e-4, (ours - theirs).abs().max()
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / 'hf')
    prompt = hf_tok(PROMPT, return_tensors='pt').input_ids
    assert prompt[0].tolist() == tok.encode(PROMPT)
    new = 16
    ours = torch.cat(list(model.generate(prompt, new, temperature=0)), dim=1)
    theirs = hf.generate(prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False)[:, prompt.size(1):]
    assert theirs.tolist() == ours.tolist()


def test_char_tokenizer_round_trips(tiny_data):
    tok = load_tokenizer(tiny_data)
    hf_tok, ids = export.hf_tokenizer(tok)
    text = 'def f(self):\n    return self.x = 12\n\n  else'
    assert hf_tok(text).input_ids == tok.encode(text)
    assert hf_tok.decode(tok.encode(text)) == text
    assert ids == {}


BPE_CORPUS = [s * 20 for s in [
    'def forward(self, x):\n    return self.proj(x) + 4242\n', 'Café crème brûlée, naïve façade. ',
    '東京は日本の首都です。 Москва, 서울 ', 'emoji 🙂🚀 and tabs\t\r\n  spaces   here 123456 ']]


def test_bpe_tokenizer_matches_tiktoken_on_unicode_code_and_special_tokens(tmp_path):
    enc = T.train_bpe(BPE_CORPUS, 400)
    bpe = T.BPETokenizer(enc)
    hf_tok, ids = export.hf_tokenizer(bpe)
    assert ids == dict(bos_token_id=enc.eot_token, eos_token_id=enc.eot_token)
    hf_tok.save_pretrained(tmp_path)
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path)
    for text in BPE_CORPUS + ['unseen: Zürich ∑∫√ 👩‍💻 🇫🇷 x<|endoftext|>y', '   leading and trailing  \n\n']:
        assert hf_tok(text).input_ids == bpe.encode(text), text
        assert hf_tok.decode(bpe.encode(text)) == text


def test_export_command_line_writes_a_loadable_folder_with_a_bpe_tokenizer(tmp_path):
    from data.common import write_dataset
    data = tmp_path / 'data'
    data.mkdir()
    enc = T.train_bpe(BPE_CORPUS, 400)
    info = T.save_bpe(enc, data / 'tokenizer.tiktoken')
    ids = T.encode_docs(enc, BPE_CORPUS)
    write_dataset(data, {'train': ids, 'val': ids}, dict(vocab_size=enc.n_vocab, tokenizer='bpe',
                  tokenizer_file='tokenizer.tiktoken', pattern=info['pattern'], special_tokens=info['special_tokens']))
    model = tiny_model(enc.n_vocab, linear='lowrank', attn_rank=4, mlp_rank=4)
    save_tiny(model, tmp_path / 'ckpt.pt', data)
    r = run('export.py', f'--out_dir={tmp_path}', f'--hf_dir={tmp_path / "hf"}')
    assert r.returncode == 0, r.stderr[-2000:]
    names = {p.name for p in (tmp_path / 'hf').iterdir()}
    assert {'model.safetensors', 'config.json', 'generation_config.json', 'tokenizer.json'} <= names
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / 'hf')
    assert hf.generation_config.eos_token_id == enc.eot_token
    text = 'def forward(self, x): Zürich'
    ids = transformers.AutoTokenizer.from_pretrained(tmp_path / 'hf')(text, return_tensors='pt').input_ids
    assert ids[0].tolist() == enc.encode(text)
    with torch.no_grad():
        assert (model(ids)[0] - hf(ids).logits).abs().max() < 1e-4
