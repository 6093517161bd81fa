"""Paper 003's M_θ: masked mean pooling over real frames, honouring head padding; selectable by any method."""

from __future__ import annotations

import pytest
import torch

from semiemo.methods.base import ModelSpec
from semiemo.models import build_classifier
from semiemo.models.masking import valid_frames
from semiemo.models.transformer_encoder import TransformerClassifier, TransformerOptions

SMALL = TransformerOptions(layers=2, heads=2, d_model=16, ffn=32, dropout=0.0, head_hidden=8)


def test_valid_frames_marks_the_tail_under_head_padding_and_the_front_under_end_padding():
    lengths = torch.tensor([2, 0, 4])
    assert valid_frames(lengths, 4, "start").tolist() == [[False, False, True, True], [False] * 4, [True] * 4]
    assert valid_frames(lengths, 4, "end").tolist() == [[True, True, False, False], [False] * 4, [True] * 4]
    with pytest.raises(ValueError, match="pad_side"):
        valid_frames(lengths, 4, "middle")


def test_masked_pooling_ignores_whatever_sits_in_the_head_padding():
    torch.manual_seed(0)
    model = TransformerClassifier({"x": (10, 5)}, 3, SMALL, pad_sides={"x": "start"}).eval()
    x = torch.randn(2, 10, 5)
    lengths = torch.tensor([4, 7])
    junk = x.clone()
    junk[0, :6] = 100.0 * torch.randn(6, 5)   # the 6 padded head frames of row 0
    junk[1, :3] = -50.0                        # the 3 padded head frames of row 1
    with torch.no_grad():
        a, b = model({"x": x}, {"x": lengths}), model({"x": junk}, {"x": lengths})
        tail = junk.clone()
        tail[0, -1] += 1.0                     # a real frame does change the output
        c = model({"x": tail}, {"x": lengths})
    assert torch.allclose(a, b, atol=1e-5)
    assert not torch.allclose(a[0], c[0], atol=1e-4)


def test_end_padding_reads_the_front_frames_instead():
    torch.manual_seed(0)
    model = TransformerClassifier({"x": (10, 5)}, 3, SMALL, pad_sides={"x": "end"}).eval()
    x = torch.randn(1, 10, 5)
    junk = x.clone()
    junk[0, 4:] = 77.0
    with torch.no_grad():
        assert torch.allclose(model({"x": x}, {"x": torch.tensor([4])}), model({"x": junk}, {"x": torch.tensor([4])}), atol=1e-5)


def test_spec_selects_the_transformer_with_an_input_projection_when_widths_differ():
    spec = ModelSpec({"x": (6, 40)}, 4, backbone="transformer", backbone_options={"layers": 1, "d_model": 32, "heads": 4})
    model = build_classifier(spec)
    assert isinstance(model, TransformerClassifier)
    assert isinstance(model.project["x"], torch.nn.Linear) and model.project["x"].in_features == 40
    assert len(model.encoder.layers) == 1
    assert model({"x": torch.randn(3, 6, 40)}).shape == (3, 4)
    paper = TransformerOptions()
    assert (paper.layers, paper.heads, paper.d_model) == (8, 8, 512)
    same = build_classifier(ModelSpec({"x": (6, 512)}, 3, backbone="transformer", backbone_options={"layers": 1}))
    assert isinstance(same.project["x"], torch.nn.Identity)


def test_bad_backbone_options_name_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed"):
        build_classifier(ModelSpec({"x": (6, 4)}, 3, backbone="transformer", backbone_options={"blocks": 8}))
    with pytest.raises(ValueError, match="backbone"):
        build_classifier(ModelSpec({"x": (6, 4)}, 3, backbone="rnn"))


def test_frame_stride_pools_real_frames_only_and_still_ignores_head_padding():
    torch.manual_seed(0)
    opts = TransformerOptions(layers=1, heads=2, d_model=16, ffn=32, dropout=0.0, head_hidden=8, frame_stride=4)
    model = TransformerClassifier({"x": (10, 5)}, 3, opts, pad_sides={"x": "start"}).eval()
    x = torch.randn(2, 10, 5)
    lengths = torch.tensor([3, 10])
    junk = x.clone()
    junk[0, :7] = 42.0
    with torch.no_grad():
        assert torch.allclose(model({"x": x}, {"x": lengths}), model({"x": junk}, {"x": lengths}), atol=1e-5)
        tokens, mask = model.tokens({"x": x}, {"x": lengths})
    assert tokens.shape[1] == 3 and mask.tolist() == [[False, True, True], [True, True, True]]
