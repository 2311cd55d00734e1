#!/usr/bin/env python3
"""PS3.15 Table E.1-1 -> crates/dicom/src/anonymize/table_e1_1.rs (committed, generated).

Source: NEMA's own DocBook of PS3.15, the standard itself, not a third-party list:
  https://dicom.nema.org/medical/dicom/current/source/docbook/part15/part15.xml
  (an edition's archived copy: .../medical/dicom/2026c/source/docbook/part15/part15.xml)
The edition is read from the document's <subtitle>DICOM PS3.15 2026c - ...</subtitle> and
written into the generated file with the SHA-256 of the bytes read, so the Rust table says
which edition it is. The generated table was made from PS3.15 2026c, SHA-256
77d60b856faf4223ab40a398c53130fc0ee9490d0d811ee3536e6d25c02ac717 (3,553,659 bytes).

Run:  python3 tests/dicom/make_annex_e_table.py PATH/TO/part15.xml
      git diff crates/dicom/src/anonymize/table_e1_1.rs   # deterministic: no change for the same edition

Only the standard library is used. Every row of the table is written, in the table's order,
with all fifteen columns: name, tag (or the four family rows as group/element masks), Retd.,
In Std. Comp. IOD, the Basic Profile action code and the ten option columns. The script
refuses (exits non-zero) on anything it does not understand: a column header out of place, a
row that is not fifteen cells, an action code outside PS3.15 E.1.1's list, a tag it cannot read.
"""

import hashlib
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

DB = "{http://docbook.org/ns/docbook}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
OUT = Path(__file__).resolve().parents[2] / "crates/dicom/src/anonymize/table_e1_1.rs"

HEADERS = [
    "Attribute Name", "Tag", "Retd.", "In Std. Comp. IOD", "Basic Prof.",
    "Rtn. Safe Priv. Opt.", "Rtn. UIDs Opt.", "Rtn. Dev. Id. Opt.", "Rtn. Inst. Id. Opt.",
    "Rtn. Pat. Chars. Opt.", "Rtn. Long. Full Dates Opt.", "Rtn. Long. Modif. Dates Opt.",
    "Clean Desc. Opt.", "Clean Struct. Cont. Opt.", "Clean Graph. Opt.",
]
# PS3.15 E.1.1, "De-identification Action Codes", and the Rust variant each becomes.
CODES = {
    "D": "D", "Z": "Z", "X": "X", "K": "K", "C": "C", "U": "U",
    "Z/D": "ZD", "X/Z": "XZ", "X/D": "XD", "X/Z/D": "XZD", "X/Z/U*": "XZUStar",
}
# The four rows that name a family of tags, as (group, group mask, element, element mask):
# a tag matches when tag.group & group_mask == group and tag.element & element_mask == element.
# "xx" is read as any two hex digits (PS3.5 7.6 allows only the even groups 00-1E; reading
# it wider only removes more). Odd groups are the private ones.
FAMILIES = {
    "(50xx,xxxx)": (0x5000, 0xFF00, 0x0000, 0x0000),
    "(60xx,3000)": (0x6000, 0xFF00, 0x3000, 0xFFFF),
    "(60xx,4000)": (0x6000, 0xFF00, 0x4000, 0xFFFF),
    "(gggg,eeee) where gggg is odd": (0x0001, 0x0001, 0x0000, 0x0000),
}


def text(el):
    return " ".join("".join(el.itertext()).replace("\u200b", "").split())


def fail(msg):
    sys.exit(f"make_annex_e_table: {msg}")


def rust_str(s):
    if not s.isascii():
        fail(f"non-ASCII attribute name {s!r}")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    if len(sys.argv) != 2:
        fail("usage: make_annex_e_table.py PATH/TO/part15.xml")
    raw = Path(sys.argv[1]).read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    root = ET.fromstring(raw)
    subtitle = next((text(s) for s in root.iter(DB + "subtitle")), "")
    m = re.fullmatch(r"DICOM PS3\.15 (\d{4}[a-z]?) - .*", subtitle)
    if not m:
        fail(f"not PS3.15: subtitle {subtitle!r}")
    edition = m.group(1)
    table = next((t for t in root.iter(DB + "table") if t.get(XML_ID) == "table_E.1-1"), None)
    if table is None:
        fail("no table_E.1-1")
    head = [text(th) for th in table.find(DB + "thead").iter(DB + "th")]
    if len(head) != 15 or any(not h.startswith(w) for h, w in zip(head, HEADERS)):
        fail(f"unexpected columns {head}")
    rows = []
    for tr in table.find(DB + "tbody").findall(DB + "tr"):
        cells = [text(td) for td in tr.findall(DB + "td")]
        if len(cells) != 15:
            fail(f"row of {len(cells)} cells: {cells}")
        name, tag, retd, in_iod, basic, *opts = cells
        if tag in FAMILIES:
            pattern = FAMILIES[tag]
        else:
            t = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", tag)
            if not t:
                fail(f"tag {tag!r} of {name!r}")
            pattern = (int(t.group(1), 16), 0xFFFF, int(t.group(2), 16), 0xFFFF)
        if basic not in CODES:
            fail(f"basic profile code {basic!r} of {name} {tag}")
        for o in opts:
            if o and o not in CODES:
                fail(f"option code {o!r} of {name} {tag}")
        if retd not in ("Y", "N") or in_iod not in ("Y", "N"):
            fail(f"Retd./In Std. Comp. IOD of {name} {tag}: {retd!r} {in_iod!r}")
        rows.append((name, pattern, retd == "Y", in_iod == "Y", CODES[basic], opts))
    if len(rows) < 600:
        fail(f"only {len(rows)} rows")
    singles = [r[1][:1] + r[1][2:3] for r in rows if r[1][1] == 0xFFFF and r[1][3] == 0xFFFF]
    if len(singles) != len(set(singles)):
        fail("a tag is listed twice")

    out = []
    w = out.append
    w("// @generated by tests/dicom/make_annex_e_table.py from NEMA's DocBook of PS3.15 (part15.xml).")
    w("// Do not edit: rerun the script on the edition's part15.xml (see the script's docstring).")
    w("//")
    w(f"// PS3.15 {edition}, Table E.1-1 \"Application Level Confidentiality Profile Attributes\":")
    w(f"// {len(rows)} rows, in the table's order. Source SHA-256 {sha}.")
    w("// Columns: name, tag pattern (group, group mask, element, element mask), Retd.,")
    w("// In Std. Comp. IOD, Basic Prof., then the ten option columns in the table's order")
    w("// (see `OptionColumn`), each `None` (blank), `Some(K)` or `Some(C)`.")
    w("")
    w("use super::Code::{self, *};")
    w("use super::Row;")
    w("")
    w("/// The edition of PS3.15 this table was generated from.")
    w(f'pub const EDITION: &str = "PS3.15 {edition}";')
    w("/// SHA-256 of the part15.xml the table was generated from.")
    w(f'pub const SOURCE_SHA256: &str = "{sha}";')
    w("")
    w("const fn r(name: &'static str, p: (u16, u16, u16, u16), retired: bool, in_std_comp_iod: bool, basic: Code, options: [Option<Code>; 10]) -> Row {")
    w("    Row { name, group: p.0, group_mask: p.1, element: p.2, element_mask: p.3, retired, in_std_comp_iod, basic, options }")
    w("}")
    w("")
    w("const N: Option<Code> = None;")
    w("const KK: Option<Code> = Some(K);")
    w("const CC: Option<Code> = Some(C);")
    w("")
    w("/// Table E.1-1, every row.")
    w("#[rustfmt::skip]")
    w("pub const TABLE_E_1_1: &[Row] = &[")
    opt = {"": "N", "K": "KK", "C": "CC"}
    for name, (g, gm, e, em), retd, in_iod, basic, opts in rows:
        for o in opts:
            if o not in opt:
                fail(f"option code {o!r} of {name}: only K and C are expected in option columns")
        os = ", ".join(opt[o] for o in opts)
        w(f"    r({rust_str(name)}, (0x{g:04X}, 0x{gm:04X}, 0x{e:04X}, 0x{em:04X}), {str(retd).lower()}, {str(in_iod).lower()}, {basic}, [{os}]),")
    w("];")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(out) + "\n")
    print(f"PS3.15 {edition}: {len(rows)} rows ({len(singles)} single tags) -> {OUT}")


if __name__ == "__main__":
    main()
