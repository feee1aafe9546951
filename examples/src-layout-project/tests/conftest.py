import pytest


@pytest.fixture
def unit_x() -> list[float]:
    return [1.0, 0.0]
