"""MedSigLIP-448 on the CPU in PyTorch + transformers: the reference for `medlens bench
--random-weights medsiglip-448 --device cpu` (issue 15: our image embedding at least as fast).

Same model shape (SigLIP so400m-style towers, 27 layers of 1152, 448 px, 16 px patches, text of
64 positions), random weights, float32 compute, the same thread count, the same work as the
medlens benchmark: one image, then the 13 labels of the chest set (64 tokens each), each timed
as the mean of REPS runs after one warm-up. The weights' values do not change the work, so
they are not shared with medlens (whose bench keeps them in f16 and computes in f32).

    python3 -m venv venv && venv/bin/pip install torch transformers
    venv/bin/python tests/engine/siglip/bench_medsiglip_torch.py --threads 2
    medlens bench --random-weights medsiglip-448 --device cpu --json   # RAYON_NUM_THREADS=2

Prints one JSON object.
"""
import argparse, json, time

import torch
import transformers
from transformers import SiglipConfig, SiglipModel


def config():
    tower = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                 layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    return SiglipConfig(vision_config=dict(tower, image_size=448, patch_size=16, num_channels=3),
                        text_config=dict(tower, vocab_size=32000, max_position_embeddings=64, projection_size=1152,
                                                     bos_token_id=0, eos_token_id=1, pad_token_id=1))


def mean_time(f, reps):
    f()  # warm-up
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = SiglipModel(config()).eval()
    pixels = torch.rand(1, 3, 448, 448) * 2 - 1
    ids = torch.stack([(torch.arange(64) * 17 + l * 131) % 30000 + 2 for l in range(13)])
    with torch.inference_mode():
        image_s = mean_time(lambda: model.get_image_features(pixel_values=pixels), a.reps)
        text_s = mean_time(lambda: model.get_text_features(input_ids=ids), a.reps)
    print(json.dumps({"image_embed_s": image_s, "text_embed_13_labels_s": text_s, "threads": a.threads,
                      "reps": a.reps, "dtype": "float32", "torch": torch.__version__,
                      "transformers": transformers.__version__}))
