"""Translation upkeep. English msgids in the code; Korean is the first language.

  python tools/i18n.py missing [PATH ...]   msgids under PATH (default: volnet/) with no Korean translation
  python tools/i18n.py compile              compile the .po to .mo
  python tools/i18n.py clashes              msgids that two parts translate differently (the first part
                                            by name wins everywhere: give each meaning a msgid of its own)
  python tools/i18n.py sync                 rebuild translations/ko/LC_MESSAGES/messages.po from the code,
                                            taking translations from it and from translations/ko/parts/*.po;
                                            then compile the .mo
Each domain may keep its Korean strings in translations/ko/parts/<domain>.po (plain msgid/msgstr pairs).
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
KO = ROOT / "translations" / "ko" / "LC_MESSAGES"
PARTS = ROOT / "translations" / "ko" / "parts"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.do"}}


def extract(paths: list[Path]) -> dict:
    """Messages from the code under volnet/, limited to files under ``paths``."""
    wanted = [str(p.resolve()) for p in paths]
    found = {}
    base = ROOT / "volnet"
    for fname, _lineno, message, _comments, _ctx in extract_from_dir(
            str(base), METHODS, keywords=KEYWORDS, options_map=OPTIONS):
        full = str((base / fname).resolve())
        if not any(full == w or full.startswith(w.rstrip("/") + "/") for w in wanted):
            continue
        key = message if isinstance(message, str) else message[0]
        found[key] = message
    return found


def known() -> dict[str, object]:
    out: dict[str, object] = {}
    files = sorted(PARTS.glob("*.po")) + [KO / "messages.po"]
    for f in files:
        if not f.exists():
            continue
        with f.open("rb") as fh:
            cat = read_po(fh, locale="ko")
        for m in cat:
            if m.id and m.string and (not isinstance(m.string, tuple) or all(m.string)):
                key = m.id if isinstance(m.id, str) else m.id[0]
                if "fuzzy" not in m.flags and key not in out:
                    out[key] = m.string
    return out


def missing(paths: list[Path]) -> list[str]:
    k = known()
    return sorted(m for m in extract(paths) if m not in k)


def sync() -> int:
    found = extract([ROOT / "volnet"])
    k = known()
    cat = Catalog(locale="ko", project="volnet", charset="utf-8")
    cat.plural_forms  # noqa: B018 - ensure header
    lacking = []
    for key, message in sorted(found.items()):
        string = k.get(key)
        if string is None:
            lacking.append(key)
            string = "" if isinstance(message, str) else ("",)
        cat.add(message, string)
    KO.mkdir(parents=True, exist_ok=True)
    with (KO / "messages.po").open("wb") as fh:
        write_po(fh, cat, width=0, omit_header=False, sort_output=True)
    with (KO / "messages.mo").open("wb") as fh:
        write_mo(fh, cat)
    for key in lacking:
        print("MISSING:", key)
    print(f"{len(found)} messages, {len(lacking)} without Korean")
    return 1 if lacking else 0


def clashes() -> dict[str, dict[str, str]]:
    """msgid -> {part: translation} for the msgids that parts translate differently."""
    seen: dict[str, dict[str, str]] = {}
    for f in sorted(PARTS.glob("*.po")):
        with f.open("rb") as fh:
            for m in read_po(fh, locale="ko"):
                if m.id and m.string:
                    key = m.id if isinstance(m.id, str) else m.id[0]
                    seen.setdefault(key, {})[f.stem] = str(m.string)
    return {k: v for k, v in sorted(seen.items()) if len(set(v.values())) > 1}


def compile_only() -> int:
    """Compile messages.po to messages.mo (setup and CI; no extraction)."""
    po = KO / "messages.po"
    if not po.exists():
        return 0
    with po.open("rb") as fh:
        cat = read_po(fh, locale="ko")
    with (KO / "messages.mo").open("wb") as fh:
        write_mo(fh, cat)
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "compile":
        return compile_only()
    if argv and argv[0] == "clashes":
        found = clashes()
        for key, by_part in found.items():
            print(f"{key!r}: " + ", ".join(f"{part}: {text}" for part, text in by_part.items()))
        print(f"{len(found)} msgids translated more than one way", file=sys.stderr)
        return 0
    if not argv or argv[0] not in ("missing", "sync"):
        print(__doc__)
        return 2
    if argv[0] == "missing":
        paths = [Path(p) for p in argv[1:]] or [ROOT / "volnet"]
        items = missing(paths)
        for m in items:
            print(m)
        print(f"{len(items)} missing", file=sys.stderr)
        return 0
    return sync()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
