"""Generates the SentencePiece test fixture for crates/engine/src/spiece.rs.

Writes, next to this script:
  spiece.model    a small unigram SentencePiece model (SigLIP-like settings: unigram,
                  byte_fallback off, nmt_nfkc normalizer, pad=0 </s>=1 <unk>=2, no bos),
                  trained on the little medical corpus below;
  reference.json  for each text, the ids from transformers' (slow) SiglipTokenizer with
                  padding="max_length", max_length=64, truncation=True (as the MedSigLIP model card),
                  and the unpadded, untruncated ids.

Rerunnable: pip install sentencepiece transformers protobuf; python gen.py
(generated with transformers 5.x, sentencepiece 0.2.x; versions are recorded in reference.json).
"""
import json
import os
import tempfile

import sentencepiece as spm
import transformers
from transformers import SiglipTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "spiece.model")

CORPUS = """\
a photo of a chest x-ray showing a right pleural effusion
a chest radiograph with bilateral pulmonary opacities and cardiomegaly
no acute cardiopulmonary abnormality is seen on this frontal radiograph
the lungs are clear without focal consolidation, effusion or pneumothorax
an axial ct slice of the abdomen showing a hypodense liver lesion
a histopathology image of breast tissue with invasive ductal carcinoma
an h&e stained slide showing lymphocytes and necrosis
a dermatology photo of a melanocytic nevus on the skin of the back
a dermoscopy image of a seborrheic keratosis
a fundus photograph with diabetic retinopathy and microaneurysms
the heart size is normal and the mediastinal contours are unremarkable
there is a small nodule in the left upper lobe measuring 5 mm
the patient is a 67 year old man with fever, cough and shortness of breath
the café-au-lait macule measured 2 cm; the naïve patient had a fever of 38.5 °C
dose 5 µg per kg, repeated every 12 hours
mild degenerative changes of the thoracic spine
endotracheal tube, nasogastric tube and central venous catheter in place
pneumonia in the right lower lobe with air bronchograms
atelectasis at the lung bases, likely due to poor inspiration
interstitial edema and vascular congestion consistent with heart failure
a basal cell carcinoma with pearly borders and telangiectasia
actinic keratosis on sun damaged skin of the face
a benign dermatofibroma and a vascular lesion
normal tissue, adipose tissue, stroma, mucus, debris and smooth muscle
colorectal adenocarcinoma epithelium with tumor infiltrating lymphocytes
a mammogram showing scattered fibroglandular densities
fracture of the distal radius with dorsal angulation
a normal knee radiograph without joint effusion
"""

# SigLIP's own spiece.model is a 32000-piece unigram model with byte_fallback off; these
# settings mirror it at toy size.
# Relative paths inside a temporary folder: the model records its input and prefix, and
# relative names keep the file byte-identical from run to run.
cwd = os.getcwd()
with tempfile.TemporaryDirectory() as tmp:
    os.chdir(tmp)
    corpus = "corpus.txt"
    lines = CORPUS.splitlines()
    with open(corpus, "w", encoding="utf-8") as f:
        for rep in range(20):
            for l in lines:
                f.write(l + "\n")
                f.write(l.upper() + "\n" if rep % 5 == 0 else "")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix="sp", model_type="unigram", vocab_size=400,
        byte_fallback=False, character_coverage=1.0, normalization_rule_name="nmt_nfkc",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        num_threads=1, minloglevel=2)
    with open("sp.model", "rb") as f:
        data = f.read()
    os.chdir(cwd)
with open(MODEL, "wb") as f:
    f.write(data)

LONG = ("findings: the heart size is normal. the lungs are clear without focal consolidation, effusion "
        "or pneumothorax. there is a small nodule in the left upper lobe measuring 5 mm. mild degenerative "
        "changes of the thoracic spine. endotracheal tube, nasogastric tube and central venous catheter in "
        "place. impression: no acute cardiopulmonary abnormality; follow-up ct in 12 months is recommended.")

TEXTS = [
    "a photo of a chest x-ray",
    "Chest X-Ray: bilateral pleural effusion.",
    "  multiple   spaces\tand\nnewlines  ",
    "",
    "CT scan (axial) showing a 3.5 cm nodule; no lymphadenopathy!",
    "Café-au-lait naïve résumé \u2014 37 °C, 5 µg/mL",
    "ＦＵＬＬＷＩＤＴＨ ｃｈｅｓｔ ｘ－ｒａｙ！",
    "\u216b \ufb01brosis \u00bd lobe",
    "肺炎 pneumonia 🫁 edema",
    "don't   it's the patient's",
    "\u2581already\u2581escaped \u2581text",
    "!!! ... ???",
    "   ",
    "x\u00a0ray\u2003scan\u3000lung",
    "tab\x1fsep\x1cfile \x85next",
    "hello\u200bworld zero\u00a8width",
    "a photo of a {} skin lesion",
    "İstanbul ΣΟΦΟΣ Straße",
    "a " + "\u0301" + "e\u0301 combining",
    "(Axial) CT: no mass.",
    "...ellipsis first, then   trailing punctuation ---",
    "\tTab-led\r\nCRLF text\n",
    LONG,
    LONG.upper() + " " + LONG,
]

tok = SiglipTokenizer(vocab_file=MODEL)
cases = []
for t in TEXTS:
    padded = tok(t, padding="max_length", max_length=64, truncation=True)["input_ids"]
    full = tok(t)["input_ids"]
    cases.append({"text": t, "ids": padded, "ids_unpadded": full,
                  "tokens": tok.convert_ids_to_tokens(full)})
    assert len(padded) == 64
ref = {
    "versions": {"transformers": transformers.__version__, "sentencepiece": spm.__version__},
    "max_length": 64,
    "pad_id": tok.pad_token_id,
    "eos_id": tok.eos_token_id,
    "unk_id": tok.unk_token_id,
    "vocab_size": tok.vocab_size,
    "cases": cases,
}
with open(os.path.join(HERE, "reference.json"), "w", encoding="utf-8") as f:
    json.dump(ref, f, ensure_ascii=True, indent=1)
print(f"{len(data)} bytes, {tok.vocab_size} pieces, {len(cases)} cases")
