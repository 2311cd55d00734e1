"""Independent float64 numpy re-implementation of the tiny MedGemma (Gemma3ForConditionalGeneration)
forward pass, written from the formulas only (no transformers). It reads tiny-hub/ (hub tensor names,
BF16, hub-style config.json) and checks tiny/goldens.json: a Rust port can follow it line by line.

    venv/bin/python tests/engine/multimodal/reference_numpy.py      (needs numpy + safetensors + torch
                                                                     for reading BF16; run gen_goldens.py first)
"""
import json, math, os

import numpy as np
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
G = json.load(open(os.path.join(HERE, "tiny", "goldens.json")))
C = json.load(open(os.path.join(HERE, "tiny-hub", "config.json")))
W = {k: v.float().numpy().astype(np.float64) for k, v in load_file(os.path.join(HERE, "tiny-hub", "model.safetensors")).items()}
T, V = C["text_config"], C["vision_config"]


def rbin(name, shape):
    return np.fromfile(os.path.join(HERE, "tiny", name), dtype="<f4").reshape(shape).astype(np.float64)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gemma_rms(x, w, eps):  # Gemma3RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + w)
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * (1.0 + w)


def linear(x, name, bias=True):  # torch Linear: weight [out, in], y = x @ W^T + b
    y = x @ W[name + ".weight"].T
    return y + W[name + ".bias"] if bias else y


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def vision(pix):  # pix [3, H, W] -> [n_patches, hidden]
    p, H = V["patch_size"], V["image_size"]
    g = H // p
    pre = "vision_tower.vision_model."
    # Conv2d(3, hidden, kernel=stride=p): patch (gy, gx) -> row gy * g + gx; weight [hidden, 3, p, p]
    patches = pix.reshape(3, g, p, g, p).transpose(1, 3, 0, 2, 4).reshape(g * g, 3 * p * p)
    x = patches @ W[pre + "embeddings.patch_embedding.weight"].reshape(V["hidden_size"], -1).T
    x = x + W[pre + "embeddings.patch_embedding.bias"] + W[pre + "embeddings.position_embedding.weight"]
    nh = V["num_attention_heads"]
    hd = V["hidden_size"] // nh
    for i in range(V["num_hidden_layers"]):
        l = pre + f"encoder.layers.{i}."
        h = layer_norm(x, W[l + "layer_norm1.weight"], W[l + "layer_norm1.bias"], V["layer_norm_eps"])
        q, k, v = (linear(h, l + f"self_attn.{n}_proj").reshape(-1, nh, hd).transpose(1, 0, 2) for n in "qkv")
        a = softmax(q @ k.transpose(0, 2, 1) * hd ** -0.5) @ v  # full (bidirectional) attention
        x = x + linear(a.transpose(1, 0, 2).reshape(-1, nh * hd), l + "self_attn.out_proj")
        h = layer_norm(x, W[l + "layer_norm2.weight"], W[l + "layer_norm2.bias"], V["layer_norm_eps"])
        x = x + linear(gelu_tanh(linear(h, l + "mlp.fc1")), l + "mlp.fc2")
    return layer_norm(x, W[pre + "post_layernorm.weight"], W[pre + "post_layernorm.bias"], V["layer_norm_eps"])


def projector(x):  # [g*g, hv] -> [mm_tokens, ht]
    g = V["image_size"] // V["patch_size"]
    s = int(math.isqrt(C["mm_tokens_per_image"]))
    k = g // s
    # token (ty, tx) = mean over patches (ty*k + dy, tx*k + dx); row-major over (ty, tx)
    pooled = x.reshape(s, k, s, k, -1).mean(axis=(1, 3)).reshape(s * s, -1)
    normed = gemma_rms(pooled, W["multi_modal_projector.mm_soft_emb_norm.weight"], V["layer_norm_eps"])
    # mm_input_projection_weight is [vision_hidden, text_hidden]: x @ W (NOT x @ W^T)
    return pooled, normed, normed @ W["multi_modal_projector.mm_input_projection_weight"]


def rope(x, pos, theta, factor):  # x [heads, L, hd], rotate_half convention (halves, not interleaved)
    hd = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd) / factor
    f = pos[:, None] * inv[None]
    cos, sin = np.cos(np.concatenate([f, f], -1)), np.sin(np.concatenate([f, f], -1))
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + np.concatenate([-x2, x1], -1) * sin


def masks(ids, img_id, window):
    L = len(ids)
    q, k = np.arange(L)[:, None], np.arange(L)[None, :]
    is_img = np.array([t == img_id for t in ids])
    start = is_img & ~np.concatenate([[False], is_img[:-1]])
    blk = np.where(is_img, np.cumsum(start) - 1, -1)
    same = (blk[:, None] == blk[None, :]) & (blk[:, None] >= 0)
    full = (k <= q) | same
    sliding = (k > q - window) & full
    causal = k <= q
    return full, sliding, causal, (k > q - window) & causal


def text(emb, full_mask, sliding_mask):
    L = emb.shape[0]
    pos = np.arange(L, dtype=np.float64)
    nh, nkv, hd = T["num_attention_heads"], T["num_key_value_heads"], T["head_dim"]
    pattern, eps = T["sliding_window_pattern"], T["rms_norm_eps"]
    x, hs = emb, [emb]
    for i in range(T["num_hidden_layers"]):
        l = f"language_model.model.layers.{i}."
        sliding = (i + 1) % pattern != 0
        h = gemma_rms(x, W[l + "input_layernorm.weight"], eps)
        q = linear(h, l + "self_attn.q_proj", False).reshape(L, nh, hd).transpose(1, 0, 2)
        k = linear(h, l + "self_attn.k_proj", False).reshape(L, nkv, hd).transpose(1, 0, 2)
        v = linear(h, l + "self_attn.v_proj", False).reshape(L, nkv, hd).transpose(1, 0, 2)
        q = gemma_rms(q, W[l + "self_attn.q_norm.weight"], eps)  # per head, before RoPE
        k = gemma_rms(k, W[l + "self_attn.k_norm.weight"], eps)
        if sliding:
            q, k = rope(q, pos, T["rope_local_base_freq"], 1.0), rope(k, pos, T["rope_local_base_freq"], 1.0)
        else:
            f = T["rope_scaling"]["factor"] if T.get("rope_scaling") else 1.0
            q, k = rope(q, pos, T["rope_theta"], f), rope(k, pos, T["rope_theta"], f)
        k, v = np.repeat(k, nh // nkv, 0), np.repeat(v, nh // nkv, 0)  # kv head j serves q heads j*g..j*g+g-1
        s = q @ k.transpose(0, 2, 1) * T["query_pre_attn_scalar"] ** -0.5
        s = np.where(sliding_mask if sliding else full_mask, s, -np.inf)
        a = (softmax(s) @ v).transpose(1, 0, 2).reshape(L, nh * hd)
        x = x + gemma_rms(linear(a, l + "self_attn.o_proj", False), W[l + "post_attention_layernorm.weight"], eps)
        h = gemma_rms(x, W[l + "pre_feedforward_layernorm.weight"], eps)
        m = linear(gelu_tanh(linear(h, l + "mlp.gate_proj", False)) * linear(h, l + "mlp.up_proj", False),
                   l + "mlp.down_proj", False)
        x = x + gemma_rms(m, W[l + "post_feedforward_layernorm.weight"], eps)
        hs.append(x)
    x = gemma_rms(x, W["language_model.model.norm.weight"], eps)
    hs[-1] = x
    return x @ W["language_model.model.embed_tokens.weight"].T, np.stack(hs)  # tied lm_head


def main():
    ids = G["input"]["input_ids"]
    img_id = C["image_token_index"]
    pix = rbin("pixel_values.bin", (1, 3, V["image_size"], V["image_size"]))[0]
    vis = vision(pix)
    ref_vis = rbin("vision_last_hidden_state.bin", G["vision_last_hidden_state"]["shape"])[0]
    pooled, normed, feats = projector(vis)
    emb = W["language_model.model.embed_tokens.weight"][ids] * math.sqrt(T["hidden_size"])  # scale text only
    emb[np.array(ids) == img_id] = feats  # image rows replaced by the projector output, unscaled
    full, sliding, causal, sliding_causal = masks(ids, img_id, T["sliding_window"])
    for name, m in [("full_bidirectional", full), ("sliding_bidirectional", sliding), ("full_causal", causal),
                    ("sliding_causal", sliding_causal)]:
        assert ["".join("1" if b else "0" for b in row) for row in m] == G["masks"][name], name
    logits, hs = text(emb, full, sliding)
    logits_c, _ = text(emb, causal, sliding_causal)
    L = len(ids)
    checks = {
        "vision_last_hidden_state": np.abs(vis - ref_vis).max(),
        "pooled": np.abs(pooled - np.array(G["projector"]["pooled"])).max(),
        "normed": np.abs(normed - np.array(G["projector"]["normed"])).max(),
        "image_features": np.abs(feats - np.array(G["projector"]["image_features"])).max(),
        "hidden_states": np.abs(hs - rbin("hidden_states.bin", G["hidden_states"]["shape"])).max(),
        "logits": np.abs(logits - rbin("logits.bin", (L, T["vocab_size"]))).max(),
        "logits_causal": np.abs(logits_c - rbin("logits_causal.bin", (L, T["vocab_size"]))).max(),
    }
    # greedy, no cache: new tokens are text (token type 0)
    cur, out = list(ids), []
    for _ in range(len(G["greedy"]["tokens"])):
        e = W["language_model.model.embed_tokens.weight"][cur] * math.sqrt(T["hidden_size"])
        e[np.array(cur) == img_id] = feats
        f, s, _, _ = masks(cur, img_id, T["sliding_window"])
        nxt = int(text(e, f, s)[0][-1].argmax())
        out.append(nxt)
        cur.append(nxt)
    for k, v in checks.items():
        print(f"{k:26s} max|numpy - transformers| = {v:.3g}")
    print("greedy", out, "golden", G["greedy"]["tokens"])
    assert out == G["greedy"]["tokens"]
    assert all(v < 2e-4 for v in checks.values()), checks
    print("ok")


if __name__ == "__main__":
    main()
