"""The reference side of scripts/gpu-bench.sh: transformers' Gemma 3 in bf16 on CUDA, with
random weights at the shapes `medlens bench` uses (the 270M, MedGemma-4B's decoder), greedy,
the same prompt and generation lengths. Prints {"gemma3-270m": {...}, "medgemma-4b-text": {...}}.
No download: the configs are written out here."""
import argparse, json, time

import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig


def layer_types(n, every=6):
    return ["full_attention" if (i + 1) % every == 0 else "sliding_attention" for i in range(n)]


CONFIGS = {
    "gemma3-270m": dict(vocab_size=262144, hidden_size=640, intermediate_size=2048, num_hidden_layers=18,
                        num_attention_heads=4, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256,
                        sliding_window=512, rope_theta=1e6, layer_types=layer_types(18)),
    "medgemma-4b-text": dict(vocab_size=262208, hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
                             num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256,
                             sliding_window=1024, rope_theta=1e6, rope_scaling={"rope_type": "linear", "factor": 8.0},
                             layer_types=layer_types(34)),
}


def bench(name, p, g):
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(**CONFIGS[name])
    with torch.device("cuda"):
        model = Gemma3ForCausalLM(cfg).to(torch.bfloat16).eval()
    ids = torch.randint(3, cfg.vocab_size, (1, p), device="cuda")
    with torch.no_grad():
        model.generate(ids[:, :8], max_new_tokens=4, min_new_tokens=4, do_sample=False)  # warm-up
        torch.cuda.synchronize()
        t = time.perf_counter()
        model(ids)
        torch.cuda.synchronize()
        prefill = time.perf_counter() - t
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=g, min_new_tokens=g, do_sample=False)
        torch.cuda.synchronize()
        total = time.perf_counter() - t
    decode = max(total - prefill, 1e-9)
    return {"dtype": "bf16", "device": torch.cuda.get_device_name(0), "prompt_tokens": p, "gen_tokens": g,
            "prefill_tokens_per_s": p / prefill, "decode_tokens_per_s": g / decode}


if __name__ == "__main__":
    a = argparse.ArgumentParser()
    a.add_argument("--prompt-tokens", type=int, default=256)
    a.add_argument("--gen-tokens", type=int, default=64)
    args = a.parse_args()
    print(json.dumps({n: bench(n, args.prompt_tokens, args.gen_tokens) for n in CONFIGS}))
