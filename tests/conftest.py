import numpy as np
import pytest

import ember


@pytest.fixture(autouse=True)
def _seed_and_defaults():
    ember.manual_seed(0)
    np.random.seed(0)
    ember.set_default_dtype(ember.float32)
    yield
    ember.set_default_dtype(ember.float32)
    ember.set_grad_enabled(True)
    ember.set_printoptions(profile="default")
