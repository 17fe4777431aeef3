"""Values that cross the result pipe for hidden tests: the runner ``encode``s what a
candidate call returned as tagged JSON, the parent ``decode``s it without running any of
the candidate's code. None, bool, int, float, complex, str, bytes, and lists, tuples,
sets, frozensets and dicts of those; subclasses are reduced to their base type's value, so
an ``__eq__`` of the candidate's never runs in the parent."""

from typing import Any


class Unencodable(Exception):
    pass


def encode(value, budget):
    """``value`` as tagged JSON, or Unencodable (too large, too deep, another type)."""
    left = [budget]

    def enc(v, depth):
        left[0] -= 1
        if left[0] < 0 or depth > 100:
            raise Unencodable("value too large")
        if v is None or v is True or v is False:
            return v
        for base, tag, conv in _TYPES:
            if isinstance(v, base):
                if tag in ("l", "t", "S", "F"):
                    return {tag: [enc(x, depth + 1) for x in conv(v)]}
                if tag == "d":
                    return {tag: [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in conv(v)]}
                out = conv(v)
                left[0] -= len(out) // 8 if isinstance(out, str) else 0
                return {tag: out}
        raise Unencodable(f"a value of type {type(v).__name__}")

    return enc(value, 0)


_TYPES = (
    (int, "i", lambda v: hex(int.__index__(v))),
    (float, "f", lambda v: float.hex(float.__float__(v))),
    (complex, "c", lambda v: [float.hex(complex.__complex__(v).real),
                              float.hex(complex.__complex__(v).imag)]),
    (str, "s", str.__str__),
    (bytes, "b", lambda v: bytes.hex(bytes.__bytes__(v))),
    (list, "l", list.__iter__),
    (tuple, "t", tuple.__iter__),
    (frozenset, "F", frozenset.__iter__),
    (set, "S", set.__iter__),
    (dict, "d", dict.items),
)


def decode(data: Any, depth: int = 0) -> Any:
    """Rebuild a value the child encoded; ValueError for anything malformed."""
    if depth > 110:
        raise ValueError("too deep")
    if data is None or isinstance(data, bool):
        return data
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("not a tagged value")
    (tag, x), = data.items()
    try:
        if tag == "i" and isinstance(x, str):
            return int(x, 16)
        if tag == "f" and isinstance(x, str):
            return float.fromhex(x)
        if tag == "c" and isinstance(x, list) and len(x) == 2:
            return complex(float.fromhex(x[0]), float.fromhex(x[1]))
        if tag == "s" and isinstance(x, str):
            return x
        if tag == "b" and isinstance(x, str):
            return bytes.fromhex(x)
        if tag in ("l", "t", "S", "F") and isinstance(x, list):
            items = [decode(v, depth + 1) for v in x]
            return {"l": list, "t": tuple, "S": set, "F": frozenset}[tag](items)
        if tag == "d" and isinstance(x, list):
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in x}
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"malformed {tag!r} value: {e}") from None
    raise ValueError(f"unknown tag {str(tag)[:20]!r}")
