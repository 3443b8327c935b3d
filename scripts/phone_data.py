#!/usr/bin/env python3
"""Generates the gate's phone-numbering table and its test data from libphonenumber's metadata,
as the PyPI package `phonenumbers` ships it (run through scripts/phone-data, which pins the
version in a virtualenv):

  src/request/phone/data.rs      the table the parser reads (patterns as libphonenumber writes
                                 them, possible lengths as bit sets, formats of main regions)
  tests/data/phone/examples.tsv  every example number the metadata gives, per region and type
  tests/data/phone/oracle.tsv    spellings of those numbers (international, IDD from other
                                 regions, national with trunk prefix, Unicode digits) and
                                 mutations of them, each with what `phonenumbers` answers

The parser's patterns use only a small regular-expression subset (digits, [classes], \\d,
groups, alternation, ?, {n}, {n,m}, $); this script refuses metadata that needs more, so a new
metadata release cannot silently change what the Rust matcher must understand.
"""
import random
import re
import sys
import unicodedata

import phonenumbers as pn
from phonenumbers import PhoneMetadata, PhoneNumberFormat as Fmt, PhoneNumberType as T
from phonenumbers import phonenumberutil as util

OUT_DATA, OUT_EXAMPLES, OUT_ORACLE = sys.argv[1:4]

# The order libphonenumber tests types in (getNumberTypeHelper), before fixed line / mobile.
TYPES = [
    ("premium_rate", "PremiumRate"),
    ("toll_free", "TollFree"),
    ("shared_cost", "SharedCost"),
    ("voip", "Voip"),
    ("personal_number", "PersonalNumber"),
    ("pager", "Pager"),
    ("uan", "Uan"),
    ("voicemail", "Voicemail"),
]
EXAMPLE_TYPES = TYPES + [("fixed_line", "FixedLine"), ("mobile", "Mobile")]
TYPE_NAMES = {
    T.FIXED_LINE: "fixed_line", T.MOBILE: "mobile", T.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    T.TOLL_FREE: "toll_free", T.PREMIUM_RATE: "premium_rate", T.SHARED_COST: "shared_cost",
    T.VOIP: "voip", T.PERSONAL_NUMBER: "personal_number", T.PAGER: "pager", T.UAN: "uan",
    T.VOICEMAIL: "voicemail", T.UNKNOWN: "unknown",
}

SUBSET = re.compile(r"(?:[0-9|?$]|\\d|\[(?:[0-9](?:-[0-9])?)+\]|\((?:\?:)?|\)|\{[0-9]+(?:,[0-9]+)?\})*")


def pattern(p, what):
    """A pattern the Rust matcher understands, or the script stops."""
    if p is None:
        return ""
    if not SUBSET.fullmatch(p):
        sys.exit(f"{what}: pattern {p!r} uses regex syntax outside the supported subset")
    return p


def rule(r, what):
    """A transform rule in `$1` form (the Python package writes `\\1`)."""
    if r is None:
        return ""
    out = re.sub(r"\\(\d)", r"$\1", r)
    if not re.fullmatch(r"(?:[0-9]|\$[1-9])*", out):
        sys.exit(f"{what}: transform rule {r!r} is not digits and group references")
    return out


def lengths(desc):
    mask = 0
    for n in desc.possible_length or ():
        if n < 0:
            continue
        if n > 31:
            sys.exit(f"possible length {n} does not fit the bit set")
        mask |= 1 << n
    return mask


def local_lengths(desc):
    mask = 0
    for n in desc.possible_length_local_only or ():
        mask |= 1 << n
    return mask


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


regions = sorted(pn.SUPPORTED_REGIONS)
nongeo = sorted(pn.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
metas = [(r, PhoneMetadata.metadata_for_region(r)) for r in regions]
metas += [(str(c), PhoneMetadata.metadata_for_nongeo_region(c)) for c in nongeo]
index = {key: i for i, (key, _) in enumerate(metas)}
main_regions = {code: rs[0] for code, rs in pn.COUNTRY_CODE_TO_REGION_CODE.items()}

class Text:
    """Every pattern once, concatenated: entries refer to a piece by its index (piece 0 is "")."""

    def __init__(self):
        self.parts, self.at = [""], {"": 0}

    def __call__(self, s):
        if s not in self.at:
            if len(s) >= 1 << 16 or len(self.parts) >= 1 << 16:
                sys.exit("a pattern, or the number of pieces, does not fit 16 bits")
            self.at[s] = len(self.parts)
            self.parts.append(s)
        return f"t({self.at[s]})"


text = Text()
descs, formats, entries = [], [], []
KINDS = dict(TYPES + [("fixed_line", "FixedLine"), ("mobile", "Mobile")])


def format_groups(f, what):
    """A format's groups as (min, max) lengths, if it is (\d{a,b}) groups written out in order."""
    groups = []
    for g in re.findall(r"\(([^()]*)\)", f.pattern):
        m = re.fullmatch(r"\\d(?:\{(\d+)(?:,(\d+))?\})?", g)
        if not m or re.sub(r"\((?:[^()]*)\)", "", f.pattern):
            sys.exit(f"{what}: format pattern {f.pattern!r} is not digit groups")
        lo = int(m.group(1) or 1)
        groups.append((lo, int(m.group(2) or lo)))
    order = [int(n) for n in re.findall(r"\\(\d)", f.format)]
    if order != list(range(1, len(groups) + 1)) or re.search(r"\d", re.sub(r"\\\d", "", f.format)):
        sys.exit(f"{what}: format {f.format!r} does not write groups 1..n in order without digits")
    if len(groups) > 5:
        sys.exit(f"{what}: more than 5 groups")
    return groups + [(0, 0)] * (5 - len(groups))


meta_rows = []
for key, m in metas:
    what = key
    first = len(descs)
    for attr, name in TYPES + [("fixed_line", "FixedLine")] + ([] if m.same_mobile_and_fixed_line_pattern else [("mobile", "Mobile")]):
        d = getattr(m, attr)
        if d is not None and d.national_number_pattern is not None:
            descs.append(f"Desc {{ kind: NumberType::{name}, pattern: {text(pattern(d.national_number_pattern, what))}, lengths: {lengths(d):#x} }}")
    desc_span = (first, len(descs) - first)
    is_main = main_regions.get(m.country_code) == (key if key in pn.SUPPORTED_REGIONS else "001")
    first = len(formats)
    if is_main:
        fs = m.intl_number_format if len(m.intl_number_format) > 0 else m.number_format
        for f in fs:
            lead = f.leading_digits_pattern[-1] if f.leading_digits_pattern else ""
            groups = ", ".join(f"({a}, {b})" for a, b in format_groups(f, what))
            formats.append(f"Format {{ leading: {text(pattern(lead, what))}, groups: [{groups}] }}")
    format_span = (first, len(formats) - first)
    g = m.general_desc
    region = f'*b"{key}"' if key in pn.SUPPORTED_REGIONS else "[0, 0]"
    meta_rows.append(
        "    Meta {\n"
        f"        region: {region},\n"
        f"        code: {m.country_code},\n"
        f"        idd: {text(pattern(m.international_prefix, what))},\n"
        f"        national_prefix_for_parsing: {text(pattern(m.national_prefix_for_parsing, what))},\n"
        f"        transform: {text(rule(m.national_prefix_transform_rule, what))},\n"
        f"        leading_digits: {text(pattern(m.leading_digits, what))},\n"
        f"        general: Desc {{ kind: NumberType::Unknown, pattern: {text(pattern(g.national_number_pattern, what))}, lengths: {lengths(g):#x} }},\n"
        f"        local_lengths: {local_lengths(g):#x},\n"
        f"        same_mobile_and_fixed_line: {'true' if m.same_mobile_and_fixed_line_pattern else 'false'},\n"
        f"        descs: Span {{ start: {desc_span[0]}, len: {desc_span[1]} }},\n"
        f"        formats: Span {{ start: {format_span[0]}, len: {format_span[1]} }},\n"
        "    },"
    )
codes = sorted(pn.COUNTRY_CODE_TO_REGION_CODE)
code_rows = []
for c in codes:
    rs = pn.COUNTRY_CODE_TO_REGION_CODE[c]
    first = len(entries)
    entries.extend(index[str(c)] if r == "001" else index[r] for r in rs)
    code_rows.append(f"    CallingCode {{ code: {c}, text: {text(str(c))}, entries: Span {{ start: {first}, len: {len(rs)} }} }},")

out = []
w = out.append
w(f"// Generated by scripts/phone-data from libphonenumber's metadata (PyPI phonenumbers=={pn.__version__},")
w("// Apache-2.0). Do not edit: change the pinned version in scripts/phone-data and run it.")
w("use super::NumberType;")
w("use super::metadata::{CallingCode, Desc, Format, Meta, Span, t};")
w("")
w("/// The libphonenumber metadata release this table was generated from.")
w(f'pub(super) const VERSION: &str = "{pn.__version__}";')
w("")
w("/// How many of [`METADATA`]'s entries are regions (sorted by region code); the rest are the")
w("/// non-geographic calling codes (sorted by code).")
w(f"pub(super) const REGION_COUNT: usize = {len(regions)};")
w("")
w("/// Every pattern (and calling code) once, concatenated; the tables below refer to a piece by")
w("/// its index in [`PIECE_LENGTHS`] (small, mostly consecutive numbers compress well).")
w("pub(super) static TEXT: &str = concat!(")
for part in text.parts[1:]:
    w(f"    {rust_str(part)},")
w(");")
w("")
w("/// The length of each piece of [`TEXT`], in order.")
w(f"pub(super) static PIECE_LENGTHS: [u16; {len(text.parts)}] = [{', '.join(str(len(x)) for x in text.parts)}];")
w("")
w("/// Per region, then per non-geographic calling code: what parsing and typing a number needs.")
w(f"pub(super) static METADATA: [Meta; {len(metas)}] = [")
out.extend(meta_rows)
w("];")
w("")
w("/// The number types of each entry, in the order libphonenumber tests them (fixed line and")
w("/// mobile last; mobile left out where it is the same as fixed line).")
w(f"pub(super) static DESCS: [Desc; {len(descs)}] = [")
out.extend(f"    {d}," for d in descs)
w("];")
w("")
w("/// The international formats of main regions: leading digits, and the (min, max) length of")
w("/// each digit group, written out in order ((0, 0) past the last).")
w(f"pub(super) static FORMATS: [Format; {len(formats)}] = [")
out.extend(f"    {f}," for f in formats)
w("];")
w("")
w("/// Each calling code with the entries of [`METADATA`] that share it ([`ENTRIES`]), the main")
w("/// region first (libphonenumber's order: the region whose formats the code uses, then the others).")
w(f"pub(super) static CALLING_CODES: [CallingCode; {len(codes)}] = [")
out.extend(code_rows)
w("];")
w("")
w("/// Indexes into [`METADATA`], grouped by calling code.")
w(f"pub(super) static ENTRIES: [u16; {len(entries)}] = [{', '.join(map(str, entries))}];")
w("")
w("/// Calling codes whose mobile numbers carry a token before the area code in international")
w("/// format (`+54 9 11 …`): the token counts as part of the national destination code.")
tokens = getattr(util, "_MOBILE_TOKEN_MAPPINGS", {})
w(f"pub(super) static MOBILE_TOKENS: [(u16, &str); {len(tokens)}] = [")
for c, t in sorted(tokens.items()):
    w(f"    ({c}, {rust_str(t)}),")
w("];")
w("")
zeros = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Nd" and unicodedata.digit(chr(cp)) == 0]
w(f"/// The zero of every run of Unicode decimal digits (Unicode {unicodedata.unidata_version}): libphonenumber reads")
w("/// a digit of any script, and each run holds 0 to 9 in order.")
w(f"pub(super) static DIGIT_ZEROS: [u32; {len(zeros)}] = [{', '.join(f'{z:#x}' for z in zeros)}];")
with open(OUT_DATA, "w") as f:
    f.write("\n".join(out) + "\n")

# ---------------------------------------------------------------- test data
examples = []
for key, m in metas:
    for attr, _ in EXAMPLE_TYPES:
        d = getattr(m, attr)
        if d is None or not d.example_number:
            continue
        examples.append((key, m.country_code, attr, d.example_number))


def national_spelling(key, code, nsn):
    """How the number is written nationally, if it reads back as the same number there."""
    if key not in pn.SUPPORTED_REGIONS:
        return "-"
    n = pn.parse(f"+{code}{nsn}", None)
    text = pn.format_number(n, Fmt.NATIONAL)
    try:
        back = pn.parse(text, key)
    except pn.NumberParseException:
        return "-"
    return text if back == n and pn.is_valid_number(n) else "-"


with open(OUT_EXAMPLES, "w") as f:
    f.write(f"# libphonenumber example numbers (phonenumbers=={pn.__version__}): region or calling code, calling code, type, national significant number, national spelling (- if it does not read back)\n")
    for row in examples:
        f.write("\t".join(map(str, row + (national_spelling(row[0], row[1], row[3]),))) + "\n")

# Digits of other scripts and separators phone keyboards produce, as libphonenumber reads them.
SCRIPTS = [0x30, 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1040]
SEPARATORS = [" ", "-", ".", "\u00a0", "\u2011", "\u3000", "/", "\u30fc", "\uff0d"]


def respell(s, rnd):
    """The same number with other digits and separators (the + stays a +, sometimes full width)."""
    zero = rnd.choice(SCRIPTS)
    out = []
    for i, c in enumerate(s):
        if c.isdigit():
            out.append(chr(zero + int(c)))
            if rnd.random() < 0.15:
                out.append(rnd.choice(SEPARATORS))
        elif c == "+":
            out.append(rnd.choice(["+", "\uff0b"]))
        elif c == " ":
            out.append(rnd.choice(SEPARATORS))
        else:
            out.append(c)
    return "".join(out)


def answer(text, region):
    """What phonenumbers says about a sign-up's phone field, in the gate's terms. With no default
    region the gate reads a leading 00 as the international prefix (phonenumbers needs a region
    for that), so such a row is asked as the + form."""
    if region is None and text.startswith("00"):
        if text[2:3] == "0":
            return ["err", "no_region"]
        text = "+" + text[2:]
    try:
        n = pn.parse(text, region)
    except pn.NumberParseException as e:
        kind = {
            pn.NumberParseException.INVALID_COUNTRY_CODE: "invalid_calling_code",
            pn.NumberParseException.NOT_A_NUMBER: "not_a_number",
            pn.NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
            pn.NumberParseException.TOO_SHORT_NSN: "too_short",
            pn.NumberParseException.TOO_LONG: "too_long",
        }[e.error_type]
        if kind == "invalid_calling_code" and region is None and not text.lstrip().startswith(("+", "\uff0b")):
            kind = "no_region"
        return ["err", kind]
    if pn.is_valid_number(n):
        r = pn.region_code_for_number(n)
        return ["ok", pn.format_number(n, Fmt.E164), "-" if r == "001" else r,
                TYPE_NAMES[pn.number_type(n)], str(pn.length_of_national_destination_code(n)), n.extension or "-"]
    reason = pn.is_possible_number_with_reason(n)
    R = util.ValidationResult
    kind = {
        R.IS_POSSIBLE: "not_in_use", R.IS_POSSIBLE_LOCAL_ONLY: "local_only", R.INVALID_COUNTRY_CODE: "invalid_calling_code",
        R.TOO_SHORT: "too_short", R.TOO_LONG: "too_long", R.INVALID_LENGTH: "invalid_length",
    }[reason]
    return ["err", kind]


rnd = random.Random(20)
rows = []
idd_regions = ["US", "AU", "RU", "JP", "DE", "CN", "BR", "CO", "GB", "KR", "SG", "ID"]
for key, code, attr, nsn in examples:
    n = pn.parse(f"+{code}{nsn}", None)
    home = pn.region_code_for_number(n)
    spellings = [(f"+{code} {nsn}", None), (f"+{code}{nsn}", rnd.choice(regions))]
    if home and home != "001":
        spellings.append((pn.format_number(n, Fmt.NATIONAL), home))
        spellings.append((nsn, home))
    src = rnd.choice(idd_regions)
    spellings.append((pn.format_out_of_country_calling_number(n, src), src))
    # two of the spellings, one of them in other digits and separators
    for text, region in rnd.sample(spellings, min(2, len(spellings))):
        rows.append((text, region))
    text, region = rnd.choice(spellings)
    rows.append((respell(text, rnd), region))
    # a mutation: a digit dropped, added or changed (often no longer valid, or another range)
    digits = list(nsn)
    op = rnd.choice(["drop", "add", "change"])
    pos = rnd.randrange(len(digits))
    if op == "drop" and len(digits) > 1:
        del digits[pos]
    elif op == "add":
        digits.insert(pos, str(rnd.randrange(10)))
    else:
        digits[pos] = str(rnd.randrange(10))
    mutated = "".join(digits)
    rows.append((f"+{code} {mutated}", None))
    if home and home != "001":
        rows.append((mutated, home))
# extensions, in the forms libphonenumber reads
for suffix in [" ext. 123", " x 12", ";ext=5", ",,123", " #12", " - 12#", " anexo 7", " доб. 55", " EXT 1", " int 9", " ~ 8"]:
    key, code, attr, nsn = rnd.choice(examples)
    rows.append((f"+{code} {nsn}{suffix}", None))
# some numbers read with the wrong region, and some noise
for _ in range(400):
    key, code, attr, nsn = rnd.choice(examples)
    rows.append((nsn, rnd.choice(regions)))
for _ in range(300):
    digits = "".join(str(rnd.randrange(10)) for _ in range(rnd.randrange(1, 19)))
    prefix = rnd.choice(["+", "00", "", "0", "011", "8 10 "])
    rows.append((prefix + digits, rnd.choice(regions + [None])))
with open(OUT_ORACLE, "w") as f:
    f.write(f"# What phonenumbers=={pn.__version__} answers: input, default region (- for none), then ok, E.164, region (- for non-geographic), type, national destination code length, extension (- for none); or err and the gate's error kind\n")
    seen = set()
    for text, region in rows:
        if (text, region) in seen or "\t" in text:
            continue
        seen.add((text, region))
        f.write("\t".join([text, region or "-"] + answer(text, region)) + "\n")
print(f"phonenumbers {pn.__version__}: {len(metas)} metadata entries, {len(codes)} calling codes, "
      f"{len(examples)} examples, {len(seen)} oracle rows")
