import pytest

from vectors.ops import add, dot, scale


def test_add(unit_x):
    assert add(unit_x, [0.0, 2.0]) == [1.0, 2.0]


def test_add_refuses_different_lengths():
    with pytest.raises(ValueError):
        add([1.0], [1.0, 2.0])


def test_scale(unit_x):
    assert scale(unit_x, 3.0) == [3.0, 0.0]


def test_dot(unit_x):
    assert dot(unit_x, [5.0, 7.0]) == 5.0


def test_dot_refuses_different_lengths():
    with pytest.raises(ValueError):
        dot([1.0], [])
