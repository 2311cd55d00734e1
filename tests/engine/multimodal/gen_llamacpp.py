"""Goldens for MedGemma in llama.cpp's layout (what LM Studio and Ollama users have): a text GGUF
plus an mmproj GGUF, made by llama.cpp's own converter from a tiny HF Gemma3ForConditionalGeneration.

Rerunnable by anyone with pip (same venv as gen_goldens.py, plus sentencepiece and protobuf):

    venv/bin/pip install torch transformers safetensors pillow numpy pydicom sentencepiece protobuf
    pip download llama-cpp-python==0.3.36 --no-deps --no-binary :all: -d /tmp/lcp && tar xzf /tmp/lcp/*.tar.gz -C /tmp/lcp
    venv/bin/python tests/engine/multimodal/gen_llamacpp.py --llama-cpp /tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp \
        [--mtmd-cli <llama.cpp build>/bin/llama-mtmd-cli] [--dicom-root /work/shared/dicom]

llama-cpp-python's source distribution vendors llama.cpp (convert_hf_to_gguf.py, gguf-py, tools/mtmd).
With --mtmd-cli (build it with `cmake -B build -DLLAMA_CURL=OFF && cmake --build build --target
llama-mtmd-cli`), llama.cpp itself also runs the files greedily and its tokens are recorded.

The model differs from tiny/ where llama.cpp's Gemma 3 code fixes what HF's config states:
llama.cpp scales queries by 1/sqrt(head_dim) (query_pre_attn_scalar = head_dim, true of
MedGemma-4B: 256 = 256) and, with no pattern key in the file, makes every 6th layer global (6
layers here: 5 sliding, 1 full, as MedGemma-4B's 34). Everything else is tiny/'s: SigLIP 64 px with
4 px patches pooled 4x4 to 16 image tokens, window 8, linear rope factor 8 on global layers, vocab 512
with its tokenizer. The converter needs a SentencePiece tokenizer.model for Gemma 3 (the real
release ships one); the tiny one is written from tiny/tokenizer.json (pieces in id order, each
merged piece scored by its merge rank, bytes as BYTE pieces, specials as CONTROL).

Writes tests/engine/multimodal/tiny-llamacpp/:
  medgemma-tiny-f32.gguf, mmproj-medgemma-tiny-f32.gguf    convert_hf_to_gguf.py --outtype f32 (and --mmproj)
  medgemma-tiny-q8_0.gguf, mmproj-medgemma-tiny-f16.gguf   --outtype q8_0 text, f16 mmproj (LM Studio's usual pair)
  goldens.json, logits_last.bin                            transformers on the HF model: the CLI golden's
                                                           prompt (tiny/cli_golden.json: CT slice, window 40/400,
                                                           ct template), last-position logits, 12 greedy tokens
                                                           with top-2 margins; llama.cpp's tokens when run.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_goldens as G  # noqa: E402
from transformers import AutoProcessor, Gemma3ForConditionalGeneration  # noqa: E402

OUT = os.path.join(G.HERE, "tiny-llamacpp")
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.json",
                   "preprocessor_config.json", "processor_config.json"]


def llamacpp_config():
    cfg = G.tiny_config()
    t = cfg.text_config
    t.num_hidden_layers = 6
    t.layer_types = ["sliding_attention"] * 5 + ["full_attention"]
    t.query_pre_attn_scalar = t.head_dim
    return cfg


def write_sentencepiece(tokenizer_json, path):
    """A SentencePiece BPE ModelProto equivalent to the tiny tokenizer.json."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    tj = json.load(open(tokenizer_json, encoding="utf-8"))
    vocab = tj["model"]["vocab"]
    pieces = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in pieces] == list(range(len(pieces)))
    merges = [m if isinstance(m, list) else m.split(" ") for m in tj["model"]["merges"]]
    rank = {"".join(m): r for r, m in enumerate(merges)}
    added = {a["id"]: a for a in tj["added_tokens"]}
    mp = pb.ModelProto()
    ts = mp.trainer_spec
    ts.model_type = pb.TrainerSpec.BPE
    ts.vocab_size = len(pieces)
    ts.byte_fallback = True
    ts.unk_id, ts.bos_id, ts.eos_id, ts.pad_id = 3, 2, 1, 0
    ts.unk_piece, ts.bos_piece, ts.eos_piece, ts.pad_piece = "<unk>", "<bos>", "<eos>", "<pad>"
    ns = mp.normalizer_spec
    ns.name = "identity"
    ns.add_dummy_prefix = False
    ns.remove_extra_whitespaces = False
    ns.escape_whitespaces = True
    for p, i in pieces:
        sp = mp.pieces.add()
        sp.piece = p
        if i == 3:
            sp.type, sp.score = pb.ModelProto.SentencePiece.UNKNOWN, 0.0
        elif i in added and added[i]["special"] or p == "<mask>":
            sp.type, sp.score = pb.ModelProto.SentencePiece.CONTROL, 0.0
        elif i in added:
            sp.type, sp.score = pb.ModelProto.SentencePiece.USER_DEFINED, 0.0
        elif p.startswith("<0x") and len(p) == 6:
            sp.type, sp.score = pb.ModelProto.SentencePiece.BYTE, 0.0
        else:
            sp.type = pb.ModelProto.SentencePiece.NORMAL
            # SentencePiece BPE merges the adjacent pair whose merged piece scores highest.
            sp.score = -float(rank[p]) if p in rank else -float(len(merges) + i)
    open(path, "wb").write(mp.SerializeToString())


def hf_goldens(hf_dir, dicom_root, model=None):
    """The CLI case of tiny/cli_golden.json run by transformers on this model."""
    cli = json.load(open(os.path.join(G.TINY, "cli_golden.json"), encoding="utf-8"))
    proc = AutoProcessor.from_pretrained(hf_dir)
    c, w = cli["window"]["center"], cli["window"]["width"]
    y8, _ = G.render_window(dicom_root, cli["dicom"], cli["frame"], c, w)
    from PIL import Image
    image = Image.fromarray(np.repeat(y8[:, :, None], 3, axis=2), mode="RGB")
    msgs = [{"role": "system", "content": [{"type": "text", "text": cli["template"]["system"]}]},
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": cli["template"]["user"]}]}]
    enc = proc.apply_chat_template(msgs, tokenize=True, return_dict=True, add_generation_prompt=True, return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    assert ids == cli["input_ids"], "same tokenizer and template as tiny/: same ids"
    pv = enc["pixel_values"]
    assert G.sha(pv.numpy().astype("<f4")) == cli["pixel_values"]["sha256_le_f32"]
    if model is None:
        model = Gemma3ForConditionalGeneration.from_pretrained(hf_dir, dtype=torch.float32,
                                                               attn_implementation="eager").eval()
    tti = enc["token_type_ids"]
    cur, ctti, toks, margins, top2 = enc["input_ids"], tti, [], [], []
    last = None
    for step in range(G.CLI_MAX_TOKENS):
        lg = model(input_ids=cur, pixel_values=pv, token_type_ids=ctti).logits[0, -1]
        if step == 0:
            last = lg.numpy().astype("<f4")
        tv = torch.topk(lg, 2)
        toks.append(int(tv.indices[0]))
        top2.append([int(tv.indices[0]), int(tv.indices[1])])
        margins.append(float(tv.values[0] - tv.values[1]))
        cur = torch.cat([cur, tv.indices[:1][None]], 1)
        ctti = torch.cat([ctti, torch.zeros(1, 1, dtype=ctti.dtype)], 1)
    # the 64x64 image the processor actually saw (PIL bilinear of the render), for llama.cpp
    small = np.asarray(image.resize((64, 64), resample=Image.BILINEAR))
    return ids, last, toks, margins, top2, small


def gguf_tensors(llama_cpp, path):
    """{name: float32 numpy array in torch (HF) axis order} of a GGUF, dequantized by gguf-py."""
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    import gguf
    out = {}
    for t in gguf.GGUFReader(path).tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        out[t.name] = a.reshape(tuple(int(d) for d in reversed(t.shape.tolist())))
    return out


def rounded_like(model, llama_cpp, f32_files, q_files):
    """A copy of `model` whose weights are what the quantized files hold: each HF parameter is
    found in the f32 conversion by value (as stored, or + 1 for Gemma norms the converter
    shifts), and replaced by the same tensor of the quantized conversion, dequantized."""
    import copy
    exact, rounded = {}, {}
    for f in f32_files:
        exact.update(gguf_tensors(llama_cpp, f))
    for f in q_files:
        rounded.update(gguf_tensors(llama_cpp, f))
    m = copy.deepcopy(model)
    done = 0
    for n, p in m.named_parameters():
        v = p.detach().numpy()
        hit = None
        for name, e in exact.items():
            if e.shape == v.shape:
                if np.array_equal(e, v):
                    hit = (name, 0.0)
                elif np.array_equal(e, v + np.float32(1.0)):
                    hit = (name, 1.0)
            elif e.ndim == 2 and v.ndim == 2 and e.shape[1] == v.shape[1] and e.shape[0] < v.shape[0] \
                    and np.array_equal(e, v[:e.shape[0]]):
                hit = (name, 0.0)  # token_embd trimmed to the tokenizer's size
            if hit:
                break
        assert hit, f"{n} {tuple(v.shape)} not found in the f32 conversion"
        r = rounded[hit[0]] - np.float32(hit[1])
        with torch.no_grad():
            p[:r.shape[0]].copy_(torch.from_numpy(r.reshape(p[:r.shape[0]].shape)))
        done += 1
    return m, done


def convert(llama_cpp, hf_dir, outtype, outfile, mmproj=False):
    env = dict(os.environ, PYTHONPATH=os.path.join(llama_cpp, "gguf-py"))
    cmd = [sys.executable, os.path.join(llama_cpp, "convert_hf_to_gguf.py"), hf_dir, "--outtype", outtype,
           "--outfile", outfile] + (["--mmproj"] if mmproj else [])
    subprocess.run(cmd, check=True, env=env)


def run_mtmd(cli, text, mmproj, png, system, user, n):
    """llama.cpp's greedy tokens. The prompt puts the image where Gemma3Processor does: the chat
    template folds the system text into the user turn, and the image block is wrapped in blank
    lines ('\\n\\n' before <start_of_image>, after <end_of_image>)."""
    prompt = "\n\n<__media__>\n\n" + user
    cmd = [cli, "-m", text, "--mmproj", mmproj, "--image", png, "-sys", system, "-p", prompt, "--jinja",
           "--temp", "0", "--top-k", "1", "-n", str(n), "--no-warmup", "-t", "2",
           "--ignore-eos", "--seed", "1"]
    # mtmd-cli prints through llama.cpp's asynchronous logger, which can lose the tail of the
    # output when the process exits: rerun until the text arrives whole (framed by blank lines).
    for _ in range(8):
        r = subprocess.run(cmd, capture_output=True, timeout=600)
        so, se = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        if r.returncode != 0 or (so.startswith("\n\n") and so.endswith("\n\n")):
            break
    return r.returncode, so, se, cmd


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True, help="llama.cpp source tree (convert_hf_to_gguf.py, gguf-py)")
    ap.add_argument("--mtmd-cli", help="llama-mtmd-cli binary built from that tree (optional)")
    ap.add_argument("--dicom-root", default="/work/shared/dicom")
    # 6: of seeds 1..20 the one whose 12 greedy tokens have the widest top-1/top-2 margins
    # (>= 0.117), so q8_0 weights and another engine's summation order cannot flip a token
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args()
    G.SEED = a.seed
    torch.set_grad_enabled(False)
    os.makedirs(OUT, exist_ok=True)
    root = tempfile.mkdtemp(prefix="medgemma-tiny-")
    t5, tmp = os.path.join(root, "t5"), os.path.join(root, "hub")
    cfg = llamacpp_config()
    model = G.tiny_model(cfg)
    model.save_pretrained(t5)
    # The converter reads the hub's layout (google/medgemma-4b-it: vision_tower.vision_model.*,
    # language_model.model.*, bf16, transformers-4.50 config keys), as tiny-hub/ holds it.
    from safetensors.torch import load_file, save_file
    saved = load_file(os.path.join(t5, "model.safetensors"))
    os.makedirs(tmp)
    hub = {G.to_hub_name(k): v.to(torch.bfloat16).contiguous() for k, v in saved.items()}
    assert all(torch.equal(hub[G.to_hub_name(k)].float(), v) for k, v in saved.items())
    save_file(hub, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    json.dump(G.hub_style_config(json.load(open(os.path.join(t5, "config.json")))),
              open(os.path.join(tmp, "config.json"), "w"), indent=2)
    for d in (t5, tmp):
        for f in TOKENIZER_FILES:
            shutil.copy(os.path.join(G.TINY, f), d)
    write_sentencepiece(os.path.join(G.TINY, "tokenizer.json"), os.path.join(tmp, "tokenizer.model"))
    ids, last, toks, margins, top2, small = hf_goldens(t5, a.dicom_root)
    print("transformers greedy", toks, "min margin", min(margins))

    files = {"text_f32": "medgemma-tiny-f32.gguf", "mmproj_f32": "mmproj-medgemma-tiny-f32.gguf",
             "text_q8_0": "medgemma-tiny-q8_0.gguf", "mmproj_f16": "mmproj-medgemma-tiny-f16.gguf"}
    convert(a.llama_cpp, tmp, "f32", os.path.join(OUT, files["text_f32"]))
    convert(a.llama_cpp, tmp, "f32", os.path.join(OUT, files["mmproj_f32"]), mmproj=True)
    convert(a.llama_cpp, tmp, "q8_0", os.path.join(OUT, files["text_q8_0"]))
    convert(a.llama_cpp, tmp, "f16", os.path.join(OUT, files["mmproj_f16"]), mmproj=True)
    G.wbin(OUT, "logits_last.bin", last)
    # transformers on the weights the q8_0 text + f16 mmproj files hold: the reference for
    # those files (only summation order may differ)
    hf = Gemma3ForConditionalGeneration.from_pretrained(t5, dtype=torch.float32, attn_implementation="eager").eval()
    qm, n_params = rounded_like(hf, a.llama_cpp, [os.path.join(OUT, files[k]) for k in ("text_f32", "mmproj_f32")],
                                [os.path.join(OUT, files[k]) for k in ("text_q8_0", "mmproj_f16")])
    _, q_last, q_toks, q_margins, _, _ = hf_goldens(t5, a.dicom_root, qm)
    G.wbin(OUT, "logits_last_q8_0_f16.bin", q_last)
    print("q8_0+f16 weights:", n_params, "parameters; greedy", q_toks, "logits moved by", float(np.abs(q_last - last).max()))
    from tokenizers import Tokenizer
    decoded = Tokenizer.from_file(os.path.join(G.TINY, "tokenizer.json")).decode(toks, skip_special_tokens=False)
    from PIL import Image
    png = os.path.join(root, "image64.png")
    Image.fromarray(small, mode="RGB").save(png)

    out = {
        "versions": {**G.versions(), "llama_cpp": "llama-cpp-python 0.3.36 sdist, vendor/llama.cpp"},
        "config_changes_from_tiny": {"text_config.num_hidden_layers": 6,
                                     "text_config.layer_types": cfg.text_config.layer_types,
                                     "text_config.query_pre_attn_scalar": cfg.text_config.head_dim},
        "seed": a.seed,
        "files": files,
        "case": "tiny/cli_golden.json: " + json.load(open(os.path.join(G.TINY, "cli_golden.json")))["command"],
        "input_ids": ids,
        "logits_last": {"file": "logits_last.bin", "shape": [int(last.shape[0])], "argmax": int(last.argmax())},
        "q8_0_f16": {"file": "logits_last_q8_0_f16.bin", "how": "transformers with every parameter replaced by "
                     "the q8_0 text / f16 mmproj file's tensor, dequantized by gguf-py", "parameters": n_params,
                     "greedy_tokens": q_toks, "min_margin": min(q_margins),
                     "max_abs_change_from_f32": float(np.abs(q_last - last).max())},
        "greedy": {"tokens": toks, "top2_ids": top2, "margins_top1_minus_top2": margins, "min_margin": min(margins),
                   "decoded": decoded},
    }
    if a.mtmd_cli:
        runs = {}
        for text_key, mm_key in (("text_f32", "mmproj_f32"), ("text_q8_0", "mmproj_f16")):
            rc, so, se, cmd = run_mtmd(a.mtmd_cli, os.path.join(OUT, files[text_key]), os.path.join(OUT, files[mm_key]),
                                       png, json.load(open(os.path.join(G.TINY, "cli_golden.json")))["template"]["system"],
                                       json.load(open(os.path.join(G.TINY, "cli_golden.json")))["template"]["user"],
                                       G.CLI_MAX_TOKENS)
            # mtmd-cli prints the generated text between blank lines
            text_out = so[2:-2] if so.startswith("\n\n") and so.endswith("\n\n") else so
            runs[f"{text_key}+{mm_key}"] = {"rc": rc, "stdout": so, "generated_text": text_out,
                                           "equals_transformers_decoded": text_out == decoded,
                                           "stderr_tail": se[-1500:].replace(OUT + "/", "").replace(root + "/", ""),
                                           "command": " ".join(os.path.basename(c) if os.path.isabs(c) else c for c in cmd)}
            print(text_key, mm_key, "rc", rc, "llama.cpp", repr(text_out), "transformers", repr(decoded))
        out["llama_cpp_mtmd"] = runs
    json.dump(out, open(os.path.join(OUT, "goldens.json"), "w"), ensure_ascii=False, indent=1)
    shutil.rmtree(root)
