"""Vector arithmetic on plain lists of floats."""

type Vec = list[float]


def add(a: Vec, b: Vec) -> Vec:
    """The element-wise sum of two vectors of the same length."""
    if len(a) != len(b):
        raise ValueError("vectors differ in length")
    return [x + y for x, y in zip(a, b, strict=True)]


def scale(a: Vec, factor: float) -> Vec:
    """Every element of `a` multiplied by `factor`."""
    return [x * factor for x in a]


def dot(a: Vec, b: Vec) -> float:
    """The dot product of two vectors of the same length."""
    if len(a) != len(b):
        raise ValueError("vectors differ in length")
    return sum(x * y for x, y in zip(a, b, strict=True))
