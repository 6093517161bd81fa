"""MCB (paper 000 eq. 2-6) and the multi-path grouping of feature groups (spec §1.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semiemo.models.mcb import CompactBilinearPooling, CountSketch, circular_convolution
from semiemo.models.multipath import (
    MultiPathNetwork, columns_covered, feature_paths, is10_feature_names, path_summary,
)


def direct_count_sketch(x: np.ndarray, h: np.ndarray, s: np.ndarray, d: int) -> np.ndarray:
    y = np.zeros((x.shape[0], d))
    for i in range(x.shape[1]):
        y[:, h[i]] += s[i] * x[:, i]
    return y


def direct_circular_convolution(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a.shape[1]
    out = np.zeros_like(a)
    for k in range(d):
        for j in range(d):
            out[:, k] += a[:, j] * b[:, (k - j) % d]
    return out


def test_count_sketch_matches_its_definition():
    torch.manual_seed(0)
    sketch = CountSketch(40, 16, torch.Generator().manual_seed(1))
    x = torch.randn(3, 40, dtype=torch.float64)
    expected = direct_count_sketch(x.numpy(), sketch.hash.numpy(), sketch.sign.numpy(), 16)
    np.testing.assert_allclose(sketch(x).numpy(), expected, atol=1e-12)
    assert set(sketch.sign.tolist()) <= {-1.0, 1.0}


def test_mcb_is_the_circular_convolution_of_the_two_sketches():
    mcb = CompactBilinearPooling(12, 20, out_dim=32, signed_sqrt_l2=False, seed=3)
    x, y = torch.randn(4, 12, dtype=torch.float64), torch.randn(4, 20, dtype=torch.float64)
    sx = direct_count_sketch(x.numpy(), mcb.sketch_x.hash.numpy(), mcb.sketch_x.sign.numpy(), 32)
    sy = direct_count_sketch(y.numpy(), mcb.sketch_y.hash.numpy(), mcb.sketch_y.sign.numpy(), 32)
    np.testing.assert_allclose(mcb(x, y).numpy(), direct_circular_convolution(sx, sy), atol=1e-9)


def test_convolved_sketches_equal_the_sketch_of_the_outer_product():
    """Φ(x) * Φ(y) = Φ(x ⊗ y) with hash (h1[i] + h2[j]) mod d and sign s1[i]·s2[j] (Pham & Pagh 2013)."""
    d = 8
    mcb = CompactBilinearPooling(5, 6, out_dim=d, signed_sqrt_l2=False, seed=7)
    x, y = torch.randn(2, 5, dtype=torch.float64), torch.randn(2, 6, dtype=torch.float64)
    h1, s1 = mcb.sketch_x.hash.numpy(), mcb.sketch_x.sign.numpy()
    h2, s2 = mcb.sketch_y.hash.numpy(), mcb.sketch_y.sign.numpy()
    outer = np.einsum("bi,bj->bij", x.numpy(), y.numpy()).reshape(2, -1)
    h12 = ((h1[:, None] + h2[None, :]) % d).reshape(-1)
    s12 = (s1[:, None] * s2[None, :]).reshape(-1)
    np.testing.assert_allclose(mcb(x, y).numpy(), direct_count_sketch(outer, h12, s12, d), atol=1e-9)


def test_mcb_inner_products_approximate_outer_product_inner_products():
    """⟨MCB(x,y), MCB(x',y')⟩ ≈ ⟨x⊗y, x'⊗y'⟩ = ⟨x,x'⟩⟨y,y'⟩ (unbiased; averaged over hash draws)."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1, 6, generator=g, dtype=torch.float64), torch.randn(1, 7, generator=g, dtype=torch.float64)
    x2, y2 = x + 0.3 * torch.randn(1, 6, generator=g, dtype=torch.float64), y + 0.3 * torch.randn(1, 7, generator=g, dtype=torch.float64)
    exact = float((x @ x2.T) * (y @ y2.T))
    estimates = [float((m(x, y) * m(x2, y2)).sum()) for m in
                 (CompactBilinearPooling(6, 7, out_dim=64, signed_sqrt_l2=False, seed=s) for s in range(200))]
    assert abs(np.mean(estimates) - exact) < 0.1 * abs(exact)


def test_hashes_are_fixed_buffers_not_parameters():
    mcb = CompactBilinearPooling(10, 10, out_dim=16, seed=0)
    assert list(mcb.parameters()) == []
    state = mcb.state_dict()
    assert {"sketch_x.hash", "sketch_x.sign", "sketch_y.hash", "sketch_y.sign"} <= set(state)
    assert not torch.equal(mcb.sketch_x.hash, mcb.sketch_y.hash)  # independent (h1, s1), (h2, s2)
    again = CompactBilinearPooling(10, 10, out_dim=16, seed=0)
    assert torch.equal(again.sketch_x.hash, mcb.sketch_x.hash)  # same seed: same architecture on every worker


def test_circular_convolution_helper_matches_direct_sum():
    a, b = torch.randn(2, 9, dtype=torch.float64), torch.randn(2, 9, dtype=torch.float64)
    np.testing.assert_allclose(circular_convolution(a, b).numpy(), direct_circular_convolution(a.numpy(), b.numpy()), atol=1e-10)


def test_is10_lld_paths_cover_all_1582_dims_exactly_once():
    paths = feature_paths({"is10": (1582,)}, "lld")
    covered = columns_covered(paths, "is10")
    assert len(covered) == 1582 and sorted(covered.tolist()) == list(range(1582))
    assert path_summary(paths) == {"is10.loudness": 42, "is10.mfcc": 630, "is10.logmel": 336, "is10.lsp": 336,
                                   "is10.f0env_voicing": 84, "is10.f0_jitter_shimmer": 154}
    names = is10_feature_names()
    mfcc = next(p for p in paths if p.name == "is10.mfcc")
    assert all(names[i].startswith("mfcc_") for i in mfcc.index)


def test_is10_functional_paths_also_partition_the_columns():
    paths = feature_paths({"is10": (1582,)}, "functional")
    covered = columns_covered(paths, "is10")
    assert sorted(covered.tolist()) == list(range(1582))
    assert len(paths) == 22  # 21 functionals + the two turn features
    assert "is10.amean" in path_summary(paths)


def test_text_and_social_paths():
    paths = feature_paths({"word_stats": (14 * 8,), "social": (7 + 34,)})
    summary = path_summary(paths)
    assert [k for k in summary if k.startswith("word_stats.")][:2] == ["word_stats.max", "word_stats.min"]
    assert sum(1 for k in summary if k.startswith("word_stats.")) == 14
    assert summary["social.topic"] == 7 and summary["social.accent"] == 34
    only_text = feature_paths({"word_stats": (14 * 8,), "social": (41,)}, kinds=("text", "accent"))
    assert "social.topic" not in path_summary(only_text)


def test_wrong_is10_width_is_an_error_naming_the_group():
    with pytest.raises(ValueError, match="is10"):
        feature_paths({"is10": (88,)})


def test_network_uses_mcb_only_with_both_modalities():
    shapes = {"egemaps": (10,), "word_stats": (14 * 4,), "social": (41,)}
    both = MultiPathNetwork(feature_paths(shapes), 6, mcb_dim=64)
    audio_only = MultiPathNetwork(feature_paths(shapes, kinds=("acoustic",)), 6, mcb_dim=64)
    assert both.mcb is not None and audio_only.mcb is None
    x = {k: torch.randn(5, *s) for k, s in shapes.items()}
    g, local = both(x)
    assert g.shape == (5, 6) and local.shape == (len(both.paths), 5, 6)


def test_is10_names_file_matches_opensmile():
    from semiemo.models.multipath import is10_feature_names_from_opensmile

    assert is10_feature_names() == is10_feature_names_from_opensmile()
    assert len(is10_feature_names()) == 1582
