"""
Export a checkpoint of any variant as a plain Hugging Face transformers model:

    python export.py --out_dir=out --hf_dir=out-hf       # out/ckpt.pt -> out-hf/
    python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('out-hf')"

Every variant is a bias-free linear map, so its dense weight is W = layer(I)^T, read through the layer's own forward
(low-rank products, LoRA on its regenerated W0, random bases, Fastfood, block-diagonal + Hadamard alike). The
RMSNorm gains are folded into the matrices that read the normed input, so every norm becomes weightless; shared
blocks are written once per layer; a doped frozen-MLP layer becomes a layer whose attention writes zero
(o = 0) and whose MLP is the frozen one, zero-padded to the widest MLP (exact: the padded hidden units are
act(0) * 0 = 0); a factorized embedding is written as its product.

The result loads with transformers' built-in model types, no remote code:
  relu2 / gelu MLP -> nanochat: weightless RMSNorm after the embedding, in every layer and before the head, QK-norm,
                      untied head. It rotates q and k by -θ where this repo rotates by +θ (and norms q, k after the
                      rotation, which commutes with an RMSNorm over the head): negating the second half of every
                      head of q and k turns one into the other and leaves q·k unchanged. Logit softcap off.
  swiglu           -> qwen3: down(silu(gate x) * up x), QK-norm before rotary (+θ, as here), norm gains set to 1.
                      It has no norm after the embedding, so the embedding rows are written already normed.
RMSNorm eps is torch's default for fp32 (finfo.eps), as this repo's norms use. The tokenizer goes with it: a BPE
(tiktoken) becomes a byte-level BPE fast tokenizer, a character vocabulary a one-token-per-character tokenizer.
"""
import os

import torch

from model import GPT, Block, ConfigError, config_from_dict
from checkpoint import load_checkpoint, load_model_state
from cli import make_dir
from data.common import DATA_ROOT
from data.tokenizer import load_tokenizer


def require_transformers():
    try:
        import transformers
        transformers.NanoChatConfig, transformers.Qwen3Config
    except (ImportError, AttributeError):
        raise ConfigError('export needs transformers with the nanochat and qwen3 model types: '
                          'pip install -r requirements-export.txt')
    return transformers


@torch.no_grad()
def dense_weight(linear):
    """W (out, in) of any variant: its forward on the identity is I W^T."""
    return linear(torch.eye(linear.in_features)).T.contiguous()


@torch.no_grad()
def dense_layers(model):
    """One dict of dense weights per layer (shared blocks repeated), norm gains folded in:
    q, k, v, o (n_embd x n_embd), fc, gate (swiglu only) (hidden x n_embd), proj (n_embd x hidden), every MLP
    zero-padded to the widest one."""
    layers = []
    for layer in model.layers():
        w = {}
        if isinstance(layer, Block):
            g1, g2 = layer.ln_1.weight, layer.ln_2.weight            # ln(x) = norm(x) * g, so W ln(x) = (W g) norm(x)
            for name in ('q', 'k', 'v'):
                w[name] = dense_weight(getattr(layer.attn, name)) * g1
            w['o'] = dense_weight(layer.attn.o)
        else:  # a doped frozen-MLP layer: no attention, a weightless norm before its MLP
            H = model.config.n_embd
            g2 = torch.ones(H)
            w.update({name: torch.zeros(H, H) for name in ('q', 'k', 'v', 'o')})
        w['fc'] = dense_weight(layer.mlp.fc) * g2
        if hasattr(layer.mlp, 'gate'):
            w['gate'] = dense_weight(layer.mlp.gate) * g2
        w['proj'] = dense_weight(layer.mlp.proj)
        layers.append(w)
    hidden = max(w['fc'].size(0) for w in layers)
    for w in layers:
        pad = hidden - w['fc'].size(0)
        for name in ('fc', 'gate'):
            if name in w:
                w[name] = torch.cat([w[name], w[name].new_zeros(pad, w[name].size(1))])
        w['proj'] = torch.cat([w['proj'], w['proj'].new_zeros(w['proj'].size(0), pad)], dim=1)
    return layers


@torch.no_grad()
def dense_embeddings(model):
    """(embedding V x n_embd before its norm, head V x n_embd with ln_f's gain folded in)."""
    emb = model.wte.weight
    if model.embd_proj is not None:
        emb = model.embd_proj(emb)                                    # V x E times E x n_embd
    head = model.lm_head.weight if model.lm_head is not None else emb  # a tied head mirrors the embedding
    return emb.clone(), head * model.ln_f.weight


def hf_model(model, tokenizer_ids=None):
    """A transformers model (nanochat or qwen3) holding the dense weights of `model` (a GPT in fp32 on CPU)."""
    transformers = require_transformers()
    cfg = model.config
    H, nh = cfg.n_embd, cfg.n_head
    hd = H // nh
    layers, (emb, head) = dense_layers(model), dense_embeddings(model)
    ids = {**dict(bos_token_id=None, eos_token_id=None, pad_token_id=None), **(tokenizer_ids or {})}
    common = dict(vocab_size=cfg.vocab_size, hidden_size=H, intermediate_size=layers[0]['fc'].size(0),
                  num_hidden_layers=cfg.n_layer, num_attention_heads=nh, num_key_value_heads=nh,
                  max_position_embeddings=cfg.block_size, rms_norm_eps=torch.finfo(torch.float32).eps,
                  rope_parameters=dict(rope_type='default', rope_theta=10000.0),   # model.Rotary's base
                  tie_word_embeddings=False,
                  attention_bias=False, **ids)
    sd = {'lm_head.weight': head}
    if cfg.mlp == 'swiglu':
        config = transformers.Qwen3Config(head_dim=hd, hidden_act='silu', use_sliding_window=False, **common)
        cls = transformers.Qwen3ForCausalLM
        sd['model.embed_tokens.weight'] = torch.nn.functional.rms_norm(emb, (H,))   # qwen3 does not norm it
        sd['model.norm.weight'] = torch.ones(H)
        names = dict(q='self_attn.q_proj', k='self_attn.k_proj', v='self_attn.v_proj', o='self_attn.o_proj',
                     fc='mlp.up_proj', gate='mlp.gate_proj', proj='mlp.down_proj')
        for l in range(cfg.n_layer):
            for norm_name in ('input_layernorm', 'post_attention_layernorm'):
                sd[f'model.layers.{l}.{norm_name}.weight'] = torch.ones(H)
            for norm_name in ('q_norm', 'k_norm'):
                sd[f'model.layers.{l}.self_attn.{norm_name}.weight'] = torch.ones(hd)
    else:
        config = transformers.NanoChatConfig(hidden_act=cfg.mlp, final_logit_softcapping=None, **common)
        cls = transformers.NanoChatForCausalLM
        sd['model.embed_tokens.weight'] = emb
        names = dict(q='self_attn.q_proj', k='self_attn.k_proj', v='self_attn.v_proj', o='self_attn.o_proj',
                     fc='mlp.fc1', proj='mlp.fc2')
        flip = torch.ones(nh, hd)
        flip[:, hd // 2:] = -1          # -θ rotary on (x1, -x2) = +θ rotary on (x1, x2), with x2 negated
        for w in layers:
            w['q'], w['k'] = w['q'] * flip.view(-1, 1), w['k'] * flip.view(-1, 1)
    for l, w in enumerate(layers):
        for name, t in w.items():
            sd[f'model.layers.{l}.{names[name]}.weight'] = t
    hf = cls(config)
    hf.load_state_dict(sd, strict=True)
    hf.generation_config.update(bos_token_id=ids['bos_token_id'], eos_token_id=ids['eos_token_id'],
                                pad_token_id=ids['pad_token_id'])
    return hf.eval()


def hf_tokenizer(tok):
    """A transformers fast tokenizer equal to this repo's tokenizer `tok` (data.tokenizer), with the model's special
    token ids ({} for a character vocabulary)."""
    transformers = require_transformers()
    from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders
    if hasattr(tok, 'chars'):  # one token per character
        t = Tokenizer(models.WordLevel({c: i for i, c in enumerate(tok.chars)}, unk_token=None))
        t.pre_tokenizer = pre_tokenizers.Split(Regex(r'[\s\S]'), behavior='isolated')   # every character alone
        t.decoder = decoders.Fuse()                                                       # joined with nothing between
        fast = transformers.PreTrainedTokenizerFast(tokenizer_object=t, clean_up_tokenization_spaces=False)
        return fast, {}
    enc = tok.enc
    ranks, specials = enc._mergeable_ranks, enc._special_tokens
    byte_char = bytes_to_unicode()
    as_str = lambda b: ''.join(byte_char[x] for x in b)
    vocab = {as_str(b): r for b, r in ranks.items()}
    merges = [tuple(as_str(p) for p in bpe_split(ranks, b, r)) for b, r in sorted(ranks.items(), key=lambda kv: kv[1])
              if len(b) > 1]
    t = Tokenizer(models.BPE(vocab, merges, fuse_unk=False, byte_fallback=False, ignore_merges=True))
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(enc._pat_str), behavior='isolated'),
                                               pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    t.add_special_tokens(sorted(specials, key=specials.get))
    eot = '<|endoftext|>' if '<|endoftext|>' in specials else None
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=t, clean_up_tokenization_spaces=False,
                                                eos_token=eot, bos_token=eot)
    ids = {} if eot is None else dict(bos_token_id=specials[eot], eos_token_id=specials[eot])
    return fast, ids


def bytes_to_unicode():
    """GPT-2's byte -> printable character table, the alphabet of byte-level BPE vocabularies."""
    bs = [*range(ord('!'), ord('~') + 1), *range(ord('¡'), ord('¬') + 1), *range(ord('®'), ord('ÿ') + 1)]
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bpe_split(ranks, token, rank):
    """The two parts tiktoken merges into `token`: run its BPE on the token's bytes with merges below `rank`."""
    parts = [bytes([b]) for b in token]
    while True:
        best = min(((ranks.get(a + b), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))
                    if ranks.get(a + b, rank) < rank), default=None)
        if best is None:
            break
        i = best[1]
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    assert len(parts) == 2, (token, parts)
    return parts


def export(ckpt_path, hf_dir, data_dir=None):
    """Write hf_dir (model.safetensors, config.json, generation_config.json, tokenizer files) from a checkpoint."""
    checkpoint = load_checkpoint(ckpt_path)
    require_transformers()
    model = GPT(config_from_dict(checkpoint['model_args']))
    load_model_state(model, checkpoint['model'], ckpt_path)
    model.eval()
    config = checkpoint['config']
    data_dir = data_dir or config.get('data_dir') or DATA_ROOT / config['dataset']
    tokenizer, ids = hf_tokenizer(load_tokenizer(data_dir))
    hf = hf_model(model, ids)
    make_dir(hf_dir, '--hf_dir')
    hf.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    return hf, tokenizer


if __name__ == '__main__':
    out_dir = 'out'
    ckpt = 'ckpt.pt'          # or best.pt
    hf_dir = ''               # '' = out_dir + '-hf'
    data_dir = ''             # the dataset folder whose tokenizer goes with the model; '' = the checkpoint's
    import sys
    from cli import exit_on_user_error
    from configurator import configure
    exit_on_user_error()  # bad input: one line, exit 2, no traceback
    globals().update(configure(dict(out_dir=out_dir, ckpt=ckpt, hf_dir=hf_dir, data_dir=data_dir), sys.argv[1:]))
    hf_dir = hf_dir or out_dir.rstrip('/') + '-hf'
    export(os.path.join(out_dir, ckpt), hf_dir, data_dir or None)
    print(f'wrote {hf_dir}: load it with AutoModelForCausalLM.from_pretrained({hf_dir!r})')
