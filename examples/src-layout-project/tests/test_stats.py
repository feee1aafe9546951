from vectors.stats import mean, running_mean


def test_mean():
    assert mean([1.0, 2.0, 3.0]) == 2.0


def test_running_mean():
    assert running_mean([2.0, 4.0]) == [2.0, 3.0]
