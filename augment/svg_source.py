"""Reading SVG seeds safely: defusedxml parsing, with Illustrator's internal entities expanded under limits.

Real exported SVGs declare internal entities (`<!ENTITY ns_svg "http://www.w3.org/2000/svg">`), which
defusedxml and CairoSVG refuse outright. We expand them ourselves, by text substitution, with a cap on
depth and on the expanded size (so a billion-laughs file fails fast), then drop the DOCTYPE and parse with
defusedxml. External entities (SYSTEM/PUBLIC) and parameter entities are refused: no network, no file reads.
"""
from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

MAX_SVG_BYTES = 32 * 1024 * 1024  # a seed file larger than this is refused before parsing
MAX_EXPANDED_BYTES = 32 * 1024 * 1024  # the document after entity expansion
MAX_ENTITY_DEPTH = 16
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

_DOCTYPE = re.compile(r"<!DOCTYPE\s+[^\[>]*(\[(?P<subset>.*?)\]\s*)?>", re.DOTALL | re.IGNORECASE)
_ENTITY_DECL = re.compile(
    r"<!ENTITY\s+(?P<param>%\s+)?(?P<name>[^\s%]+)\s+(?P<rest>(?:\"[^\"]*\"|'[^']*'|[^>\"'])*)>", re.DOTALL
)
_ENTITY_REF = re.compile(r"&([A-Za-z_:][\w.:-]*);")
_PREDEFINED = {"amp", "lt", "gt", "quot", "apos"}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.DOTALL)
_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")


class SeedError(ValueError):
    """A seed file that cannot be read; the message is one line, fit to show a user."""

    exit_code = 1  # an input could not be used (seedgen.failure)


def decode_xml(data: bytes) -> str:
    """Bytes to text: BOMs, the XML declaration's encoding, else UTF-8 (latin-1 as the last resort)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    m = _ENCODING.match(data[:200])
    encoding = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return data.decode("latin-1")


def _entity_table(subset: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for m in _ENTITY_DECL.finditer(subset):
        name, rest = m.group("name"), m.group("rest").strip()
        if m.group("param"):
            raise SeedError(f"parameter entity %{name} is not allowed")
        if re.match(r"(SYSTEM|PUBLIC)\b", rest):
            raise SeedError(f"external entity &{name}; is not allowed (no file or network reads)")
        if len(rest) < 2 or rest[0] not in "\"'" or rest[-1] != rest[0]:
            raise SeedError(f"malformed entity declaration for &{name};")
        table.setdefault(name, rest[1:-1])
    return table


def _expand(text: str, table: dict[str, str], budget: list[int]) -> str:
    cache: dict[str, str] = {}

    def value_of(name: str, depth: int, stack: tuple[str, ...]) -> str:
        if name in cache:
            return cache[name]
        if name in stack:
            raise SeedError(f"entity &{name}; refers to itself")
        if depth > MAX_ENTITY_DEPTH:
            raise SeedError("entities nest too deeply")
        result = sub(table[name], depth + 1, stack + (name,))
        cache[name] = result
        return result

    def sub(s: str, depth: int, stack: tuple[str, ...]) -> str:
        def repl(m: re.Match) -> str:
            name = m.group(1)
            if name in _PREDEFINED or name not in table:
                return m.group(0)
            value = value_of(name, depth, stack)
            budget[0] -= len(value)
            if budget[0] < 0:
                raise SeedError(f"entity expansion exceeds {MAX_EXPANDED_BYTES // (1024 * 1024)} MB (entity bomb?)")
            return value

        return _ENTITY_REF.sub(repl, s)

    return sub(text, 0, ())


def clean_svg_text(data: bytes) -> str:
    """The SVG as text with internal entities expanded and the DOCTYPE removed. Raises SeedError."""
    if len(data) > MAX_SVG_BYTES:
        raise SeedError(f"file is larger than {MAX_SVG_BYTES // (1024 * 1024)} MB")
    text = decode_xml(data)
    m = _DOCTYPE.search(text[:MAX_SVG_BYTES])
    if m:
        table = _entity_table(m.group("subset") or "")
        head, body = text[: m.start()], text[m.end() :]
        if table:
            body = _expand(body, table, [MAX_EXPANDED_BYTES])
        text = head + body
    # the text is now Unicode: an encoding declaration would mislead the next parser
    return _XML_DECL.sub("", text, count=1).lstrip("\ufeff")


def clean_svg_bytes(data: bytes) -> bytes:
    """UTF-8 bytes of `clean_svg_text`, safe to hand to CairoSVG."""
    return clean_svg_text(data).encode("utf-8")


def parse_svg(data: bytes) -> Element:
    """Parse SVG bytes into an ElementTree root, safely. Raises SeedError with a one-line reason."""
    text = clean_svg_text(data)
    try:
        root = DET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SeedError(f"unsafe XML refused ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise SeedError(f"not well-formed XML ({exc})") from exc
    except RecursionError as exc:
        raise SeedError("XML nests too deeply") from exc
    if root.tag not in (f"{{{SVG_NS}}}svg", "svg"):
        raise SeedError(f"root element is <{root.tag.split('}')[-1]}>, not <svg>")
    return root


def read_svg(path: str | Path) -> Element:
    """Read and parse an SVG seed file. Raises SeedError."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SVG_BYTES:
            raise SeedError(f"file is larger than {MAX_SVG_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise SeedError(f"cannot read file ({exc.strerror or type(exc).__name__})") from exc
    return parse_svg(data)
