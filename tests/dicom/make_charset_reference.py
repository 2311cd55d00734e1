#!/usr/bin/env python3
"""Character-set reference for crates/dicom (Specific Character Set, PS3.5 §6.1).

Writes, under tests/dicom/charset/:
  pydicom/*.dcm   byte-identical copies of pydicom's own charset test files
                  (pydicom/data/charset_files in the PyPI package, MIT licence: LICENSE-pydicom)
  cases/*.dcm     small files made here from hand-written byte strings: every defined term,
                  the ISO 2022 forms, whole single-byte tables, malformed and misspelled input,
                  sequence inheritance (their bytes are written by this script, not by pydicom)
  reference.json  what pydicom 3.0.2 decodes from every one of those files

Run:  python3 -m pip install -r tests/dicom/requirements.txt
      python3 tests/dicom/make_charset_reference.py
Deterministic: a second run changes nothing. Format and the known pydicom bug: charset/README.md.
"""

import hashlib
import json
import shutil
import struct
import sys
import warnings
from pathlib import Path

import pydicom
from pydicom.valuerep import PersonName

HERE = Path(__file__).resolve().parent / "charset"
TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
# Elements are listed with these; the rest (numbers, binary) are not text.

# ---------------------------------------------------------------------------------------------
# A minimal PS3.10 writer for the hand-made cases (explicit or implicit VR little endian).

LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT"}


def element(tag, vr, value, explicit=True):
    g, e = tag
    if vr == "SQ":
        body = b""
        for item in value:
            items = b"".join(element(t, v, x, explicit) for t, v, x in item)
            body += struct.pack("<HHI", 0xFFFE, 0xE000, len(items)) + items
        value = body
    elif len(value) % 2:
        value += b"\0" if vr == "UI" else b" "
    head = struct.pack("<HH", g, e)
    if not explicit:
        return head + struct.pack("<I", len(value)) + value
    if vr in LONG:
        return head + vr.encode() + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + vr.encode() + struct.pack("<H", len(value)) + value


def dicom_file(elements, explicit=True):
    ts = b"1.2.840.10008.1.2.1\0" if explicit else b"1.2.840.10008.1.2\0"
    sop = b"1.2.826.0.1.3680043.8.498.1\0"
    meta = b"".join(
        element(t, v, x)
        for t, v, x in [
            ((0x0002, 0x0001), "OB", b"\0\1"),
            ((0x0002, 0x0002), "UI", b"1.2.840.10008.5.1.4.1.1.7\0"),
            ((0x0002, 0x0003), "UI", sop),
            ((0x0002, 0x0010), "UI", ts),
        ]
    )
    out = b"\0" * 128 + b"DICM" + element((0x0002, 0x0000), "UL", struct.pack("<I", len(meta))) + meta
    body = [((0x0008, 0x0016), "UI", b"1.2.840.10008.5.1.4.1.1.7\0"), ((0x0008, 0x0018), "UI", sop)] + elements
    return out + b"".join(element(t, v, x, explicit) for t, v, x in sorted(body, key=lambda e: e[0]))


def scs(*terms):
    return ((0x0008, 0x0005), "CS", "\\".join(terms).encode())


PN, LO, SH, LT, UT, UC, ST = ((0x0010, 0x0010), "PN"), ((0x0008, 0x0070), "LO"), ((0x0008, 0x1010), "SH"), (
    (0x0010, 0x21B0), "LT"), ((0x0040, 0xA160), "UT"), ((0x0018, 0x9424), "UC"), ((0x0008, 0x0081), "ST")
OTHER_PN = ((0x0010, 0x1001), "PN")  # Other Patient Names, multi-valued
SEQ = (0x0040, 0x0275)  # Request Attributes Sequence


def el(which, value):
    return (which[0], which[1], value)


def enc(text, codec):
    return text.encode(codec)


def high_table(lo=0x80, hi=0x100):
    """Every byte of an upper half (no ESC, no backslash: all above 0x7F)."""
    return bytes(range(lo, hi))


JIS = lambda s: s.encode("iso2022_jp")  # noqa: E731 (ESC $ B … ESC ( B)


def table_94x94(escape, codec, high, skip=()):
    """Every character of a 94×94 set, in row order, after its escape sequence: the pairs
    (0x21–0x7E each, `high` sets the top bits as in G1) that Python's codec decodes to one
    character. `skip`: codes left out (KS X 1001's Hangul filler would start makeup sequences)."""
    out = bytearray(escape)
    for r in range(0x21, 0x7F):
        for c in range(0x21, 0x7F):
            pair = bytes([r | high, c | high])
            if pair in skip:
                continue
            try:
                # G0 sets go through Python's ISO 2022 codecs (escape included), G1 sets
                # through the EUC codecs, which know no escapes.
                if len((pair if high else escape + pair).decode(codec)) == 1:
                    out += pair
            except UnicodeDecodeError:
                pass
    return bytes(out)


def table_gb18030_two_byte():
    out = bytearray()
    for lead in range(0x81, 0xFF):
        for trail in list(range(0x40, 0x7F)) + list(range(0x80, 0xFF)):
            pair = bytes([lead, trail])
            try:
                if len(pair.decode("gb18030")) == 1:
                    out += pair
            except UnicodeDecodeError:
                pass
    return bytes(out)

CASES = {
    # --- single-byte sets: the whole upper half of each table, and a name -------------------
    **{
        f"table_{term.replace(' ', '_')}": [scs(term), el(LT, high_table()), el(PN, name)]
        for term, name in [
            ("ISO_IR 100", enc("Buc^Jérôme", "latin_1")),
            ("ISO_IR 101", enc("Dvořák^Antonín", "iso8859_2")),
            ("ISO_IR 109", enc("Ġużeppi^Ħabib", "iso8859_3")),
            ("ISO_IR 110", enc("Šķēle^Ģirts", "iso8859_4")),
            ("ISO_IR 126", enc("Διονυσιος", "iso8859_7")),
            ("ISO_IR 127", enc("قباني^لنزار", "iso8859_6")),
            ("ISO_IR 138", enc("שרון^דבורה", "iso8859_8")),
            ("ISO_IR 144", enc("Люксембург^Иван", "iso8859_5")),
            ("ISO_IR 148", enc("Şahin^Ayşegül", "iso8859_9")),
            ("ISO_IR 166", enc("สมชาย^ใจดี", "tis_620")),
        ]
    },
    # --- whole two-byte tables, in their ISO 2022 form (UT: no length limit) ------------------
    "table_jis_x0208": [scs("", "ISO 2022 IR 87"), el(UT, table_94x94(b"\x1b$B", "iso2022_jp", 0) + b"\x1b(B")],
    "table_jis_x0212": [scs("", "ISO 2022 IR 159"), el(UT, table_94x94(b"\x1b$(D", "iso2022_jp_2", 0) + b"\x1b(B")],
    "table_ks_x1001": [scs("", "ISO 2022 IR 149"), el(UT, table_94x94(b"\x1b$)C", "euc_kr", 0x80, skip={b"\xa4\xd4"}))],
    "table_gb2312": [scs("", "ISO 2022 IR 58"), el(UT, table_94x94(b"\x1b$)A", "gb2312", 0x80))],
    "table_jis_x0201": [scs("ISO_IR 13"), el(UT, bytes(range(0x20, 0x7F)) + bytes(range(0xA1, 0xE0)))],
    "table_gb18030_two_byte": [scs("GB18030"), el(UT, table_gb18030_two_byte())],
    # --- the ISO 2022 forms: initial set, then an escape to the extension --------------------
    "iso2022_latin1_greek": [
        scs("ISO 2022 IR 100", "ISO 2022 IR 126"),
        el(PN, b"Dionysios^J\xe9r\xf4me=\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"),
        el(LO, b"Caf\xe9 \x1b-F\xc1\xe8\xde\xed\xe1\x1b-A caf\xe9"),
        # No escape back before the delimiter: CR LF return to the initial set.
        el(LT, b"\x1b-F\xc1\xe8\xde\xed\xe1\r\n\xc1\xe8"),
    ],
    "iso2022_ascii_extensions": [
        scs("ISO 2022 IR 6", "ISO 2022 IR 101", "ISO 2022 IR 109", "ISO 2022 IR 110", "ISO 2022 IR 144",
            "ISO 2022 IR 127", "ISO 2022 IR 138", "ISO 2022 IR 148", "ISO 2022 IR 166"),
        el(LT, b"\x1b-B" + enc("Dvořák", "iso8859_2") + b" \x1b-C" + enc("Ħabib", "iso8859_3") + b" \x1b-D"
           + enc("Ģirts", "iso8859_4") + b" \x1b-L" + enc("Иван", "iso8859_5") + b" \x1b-G" + enc("نزار", "iso8859_6")
           + b" \x1b-H" + enc("דבורה", "iso8859_8") + b" \x1b-M" + enc("Ayşegül", "iso8859_9") + b" \x1b-T"
           + enc("ใจดี", "tis_620") + b"\x1b(B end"),
        el(PN, b"\x1b-L" + enc("Люксембург", "iso8859_5") + b"^\x1b-L" + enc("Иван", "iso8859_5")),
    ],
    # --- Japanese -----------------------------------------------------------------------------
    "japanese_jis_values": [
        scs("", "ISO 2022 IR 87"),
        # 俑 is P\ in JIS X 0208: the backslash byte is half a character, not a separator.
        el(LO, JIS("山田") + b"\\" + JIS("俑太郎") + b"\\plain"),
        el(OTHER_PN, JIS("山田^太郎") + b"\\" + JIS("やまだ^たろう")),
        # Control characters do not end JIS X 0208; a space (not a JIS byte) makes the part fail.
        el(LT, b"\x1b$B;3\r\nED\x1b(B ok"),
        el(SH, b"\x1b$B;3 ED\x1b(B"),
        el(UT, JIS("検査は正常です。") + b"\r\n" + JIS("所見なし")),
    ],
    "japanese_jis_x0212": [
        scs("", "ISO 2022 IR 87", "ISO 2022 IR 159"),
        el(PN, b"abc=" + "丂偂Ǎ".encode("iso2022_jp_2") + b"=" + JIS("やまだ")),
        el(LO, "乚".encode("iso2022_jp_2") + JIS("山") + b"x"),
    ],
    "japanese_katakana_g1": [
        scs("ISO 2022 IR 13", "ISO 2022 IR 87"),
        el(PN, "ﾔﾏﾀﾞ^ﾀﾛｳ".encode("shift_jis") + b"=" + JIS("山田^太郎")),
        # ESC ( B selects ASCII as G0; pydicom then reads Latin-1 above 0x7F.
        el(LO, b"\xd4\x1b(B\xe9\x1b(J\xd4"),
    ],
    "japanese_katakana_extension": [
        scs("", "ISO 2022 IR 13"),
        el(PN, b"Yamada=\x1b)I" + "ﾔﾏﾀﾞ".encode("shift_jis")),
    ],
    # Real-world: two-byte Shift_JIS under ISO_IR 13, with a 0x5C trail byte inside 予.
    "shift_jis_under_ir13": [
        scs("ISO_IR 13"),
        el(LO, enc("予約", "shift_jis") + b"\\" + enc("ｶﾀｶﾅ", "shift_jis")),
        el(PN, enc("ﾔﾏﾀﾞ^ﾀﾛｳ", "shift_jis")),
    ],
    # --- Korean -------------------------------------------------------------------------------
    "korean_conforming": [
        scs("", "ISO 2022 IR 149"),
        el(PN, b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf"),
        el(LO, b"\x1b$)C" + enc("서울대학교병원", "euc_kr")),
    ],
    "korean_no_escape_after_delimiters": [
        scs("", "ISO 2022 IR 149"),
        # Not re-designated after ^ (pydicom reads on), nor after CR LF (back to the initial set).
        el(PN, b"\x1b$)C\xfb\xf3^\xd1\xce\xd4\xd7"),
        el(LT, b"\x1b$)C\xfb\xf3\r\n\xd1\xce\xd4\xd7"),
        # A UHC (CP949) character that EUC-KR lacks: the part falls back to the initial set.
        el(LO, b"\x1b$)C" + enc("똠", "cp949")),
    ],
    # --- Chinese ------------------------------------------------------------------------------
    "chinese_ir58": [
        scs("", "ISO 2022 IR 58"),
        el(PN, b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab="),
    ],
    "chinese_gb18030": [
        scs("GB18030"),
        # 乗 is 0x81 0x5C: a backslash byte inside a character.
        el(LO, enc("乗", "gb18030") + b"\\" + enc("王小东", "gb18030")),
        el(PN, enc("Wang^XiaoDong=王^小东=", "gb18030")),
        # 0x8135F437 and 0xA8BC: the code point GB18030-2005 moved (see KNOWN_PYDICOM_BUGS).
        el(LT, enc("四字节: \U0001F600 ", "gb18030") + b"\x81\x35\xf4\x37 \xa8\xbc \xa2\xe3"),
    ],
    "chinese_gbk": [
        scs("GBK"),
        el(PN, enc("Wang^XiaoDong=王^小東=", "gbk")),
        el(LO, enc("乗\\北京", "gbk")),
    ],
    # --- UTF-8 --------------------------------------------------------------------------------
    "utf8": [
        scs("ISO_IR 192"),
        el(PN, enc("Müller^Zoë=王^小東=", "utf-8")),
        el(UC, enc("naïve\\ελληνικά\\עברית\\العربية\\ไทย", "utf-8")),
        el(LO, b"bad \xe7\x8e end \xff\xfe"),
    ],
    # --- terms pydicom repairs, ignores or does not know ------------------------------------
    "misspelled_iso_ir": [scs("ISO IR 100"), el(PN, enc("Buc^Jérôme", "latin_1"))],
    "misspelled_iso_2022": [scs("ISO_2022_IR 6", "ISO_2022-IR 126"), el(PN, b"Dionysios=\x1b-F\xc4\xe9\xef")],
    "python_codec_name": [scs("utf-8"), el(PN, enc("Zoë", "utf-8"))],
    "unknown_term": [scs("ISO_IR 999"), el(PN, enc("Buc^Jérôme", "latin_1"))],
    "utf8_with_extensions": [scs("ISO_IR 192", "ISO 2022 IR 87"), el(PN, enc("山田^太郎", "utf-8"))],
    "standalone_as_extension": [scs("ISO 2022 IR 100", "ISO_IR 192"), el(PN, enc("Jérôme", "latin_1"))],
    "empty_term": [scs(""), el(PN, b"Plain^Ascii"), el(LO, b"")],
    # Escapes that name no declared set: pydicom reads the part in the initial set, ESC kept.
    "undeclared_escape": [scs("ISO 2022 IR 100"), el(LO, b"ab\x1b-F\xc4\xe9"), el(SH, b"x\x1b$Zyz")],
    # --- sequence inheritance -------------------------------------------------------------------
    "sequence_inheritance": [
        scs("ISO_IR 100"),
        el(PN, enc("Jérôme", "latin_1")),
        (SEQ, "SQ", [
            # Own set: UTF-8, and a nested item inheriting it.
            [scs("ISO_IR 192"), el(LO, enc("Zoë ελληνικά", "utf-8")),
             (SEQ, "SQ", [[el(LO, enc("nested 王", "utf-8"))]])],
            # No own set: the top level's Latin-1.
            [el(LO, enc("Café", "latin_1")), (SEQ, "SQ", [[el(LO, enc("deep Ü", "latin_1"))]])],
            # Empty own set: inherits too.
            [((0x0008, 0x0005), "CS", b""), el(LO, enc("Noël", "latin_1"))],
            # Own ISO 2022 Japanese set.
            [scs("", "ISO 2022 IR 87"), el(PN, JIS("山田^太郎"))],
        ]),
    ],
}

IMPLICIT = {"implicit_vr_greek": [scs("ISO_IR 126"), el(PN, enc("Διονυσιος", "iso8859_7")), el(LO, enc("Αθήνα", "iso8859_7"))]}

# pydicom's own bugs, where our expected value differs (see charset/README.md):
# name -> (applies to this Specific Character Set?, is this value hit?, expected from pydicom's).
GB18030_2022 = {
    # GB18030-2005 swapped these two (Python's codec has the 2000 table).
    0x1E3F: 0xE7C7, 0xE7C7: 0x1E3F,
    # GB18030-2022 gave 18 former private-use codes their standard characters.
    0xE78D: 0xFE10, 0xE78E: 0xFE12, 0xE78F: 0xFE11, 0xE790: 0xFE13, 0xE791: 0xFE14, 0xE792: 0xFE15,
    0xE793: 0xFE16, 0xE794: 0xFE17, 0xE795: 0xFE18, 0xE796: 0xFE19, 0xE81E: 0x9FB4, 0xE826: 0x9FB5,
    0xE82B: 0x9FB6, 0xE82C: 0x9FB7, 0xE832: 0x9FB8, 0xE843: 0x9FB9, 0xE854: 0x9FBA, 0xE864: 0x9FBB,
    # Not a standard change: WHATWG (encoding_rs) reads 0xA3A0 as U+3000 IDEOGRAPHIC SPACE.
    0xE5E5: 0x3000,
}
KNOWN_PYDICOM_BUGS = {
    # pydicom hands ESC $ ) A fragments to Python's gb2312 codec with the escape still in
    # front; the codec passes ESC $ ) A through as ASCII, so it stays in the text.
    "ISO 2022 IR 58 escape kept": (
        lambda scs: True,
        lambda v: "\x1b$)A" in v,
        lambda v: v.replace("\x1b$)A", ""),
    ),
    # Python's gb18030 codec predates GB18030-2005 and -2022; encoding_rs has the 2022 table.
    "GB18030 table older than GB18030-2022": (
        lambda scs: bool(scs) and scs[0] in ("GB18030", "GBK"),
        lambda v: any(ord(c) in GB18030_2022 for c in v),
        lambda v: v.translate(GB18030_2022),
    ),
}


def write_cases():
    out = HERE / "cases"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, elements in CASES.items():
        (out / f"{name}.dcm").write_bytes(dicom_file(elements))
    for name, elements in IMPLICIT.items():
        (out / f"{name}.dcm").write_bytes(dicom_file(elements, explicit=False))


def copy_pydicom_files():
    src = Path(pydicom.__file__).parent / "data" / "charset_files"
    out = HERE / "pydicom"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for f in sorted(src.glob("*.dcm")):
        shutil.copyfile(f, out / f.name)
    shutil.copyfile(src / "FileInfo.txt", out / "FileInfo.txt")


def value_strings(elem):
    """pydicom's decoded value(s) as a list of strings ([] when empty)."""
    v = elem.value
    if v is None or v == "":
        return []
    if isinstance(v, (list, pydicom.multival.MultiValue)):
        return [str(x) for x in v]
    return [str(v)]


def person_name(pn):
    return {
        "value": str(pn),
        "alphabetic": pn.alphabetic,
        "ideographic": pn.ideographic,
        "phonetic": pn.phonetic,
    }


def walk(ds, prefix, out, scs):
    for elem in ds:
        tag = f"({elem.tag.group:04X},{elem.tag.element:04X})"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                walk(item, f"{prefix}{tag}/{i}/", out, value_strings(item["SpecificCharacterSet"]) if "SpecificCharacterSet" in item else scs)
            continue
        if elem.VR not in TEXT_VRS:
            continue
        entry = {"path": prefix + tag, "vr": elem.VR, "values": value_strings(elem)}
        if elem.VR == "PN":
            vals = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
            entry["names"] = [person_name(p) for p in vals if isinstance(p, PersonName) and str(p)]
        bug = [k for k, (here, hit, _) in KNOWN_PYDICOM_BUGS.items() if here(scs) and any(hit(v) for v in entry["values"])]
        if bug:
            fix = KNOWN_PYDICOM_BUGS[bug[0]][2]
            fixed = [fix(v) for v in entry["values"]]
            entry["pydicom_bug"] = bug[0]
            # What pydicom gave, as the characters that differ: [value, index, pydicom, expected].
            entry["pydicom_differs"] = [
                [i, j, f"U+{ord(a):04X}", f"U+{ord(b):04X}"]
                for i, (v, w) in enumerate(zip(entry["values"], fixed))
                for j, (a, b) in enumerate(zip(v, w))
                if a != b
            ] if all(len(v) == len(w) for v, w in zip(entry["values"], fixed)) else entry["values"]
            entry["values"] = fixed
            if "names" in entry:
                entry["names"] = [person_name(PersonName(fix(str(p)))) for p in vals if str(p)]
        out.append(entry)


def reference_for(path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = pydicom.dcmread(path)
        ds.decode()
        elements = []
        scs = value_strings(ds["SpecificCharacterSet"]) if "SpecificCharacterSet" in ds else []
        walk(ds, "", elements, scs)
        messages = sorted({str(x.message) for x in w})
    scs_value = ds.get("SpecificCharacterSet")
    entry = {
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "specific_character_set": value_strings(ds["SpecificCharacterSet"]) if scs_value is not None else None,
        "elements": elements,
    }
    if "PatientName" in ds and ds.PatientName is not None:
        entry["patient_name"] = person_name(ds.PatientName)
        for e in elements:
            if e["path"] == "(0010,0010)" and e.get("pydicom_bug"):
                entry["patient_name"] = e["names"][0]
    if messages:
        entry["pydicom_warnings"] = messages
    return entry


def main():
    copy_pydicom_files()
    write_cases()
    files = {}
    for folder in ("pydicom", "cases"):
        for f in sorted((HERE / folder).glob("*.dcm")):
            files[f"{folder}/{f.name}"] = reference_for(f)
    ref = {
        "pydicom": pydicom.__version__,
        "python": ".".join(map(str, sys.version_info[:3])),
        "known_pydicom_bugs": sorted(KNOWN_PYDICOM_BUGS),
        "files": files,
    }
    (HERE / "reference.json").write_text(json.dumps(ref, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(files)} files -> {HERE / 'reference.json'}")


if __name__ == "__main__":
    main()
