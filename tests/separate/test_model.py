import pytest
import torch

from mtk.separate.model import SeparatorConfig, build_separator


def test_config_round_trip_and_checks():
    cfg = SeparatorConfig(arch="umx", hidden=16)
    assert SeparatorConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        SeparatorConfig(arch="spleeter")
    with pytest.raises(ValueError):
        SeparatorConfig(stems=("other", "drums"))
    assert SeparatorConfig(n_fft=4096, bandwidth=16_000).max_bin == 1487


def test_umx_stems_sum_to_the_mixture():
    torch.manual_seed(0)
    net = build_separator(SeparatorConfig(n_fft=512, hop=128, hidden=8, layers=1)).eval()
    mix = 0.3 * torch.randn(2, 2, 8000)
    with torch.no_grad():
        out = net(mix)
    assert out.shape == (2, 4, 2, 8000)
    torch.testing.assert_close(out.sum(1), mix, atol=1e-5, rtol=0)


def test_hdemucs_residual_goes_to_other():
    pytest.importorskip("demucs")
    torch.manual_seed(0)
    net = build_separator(SeparatorConfig(arch="hdemucs", width=4)).eval()
    mix = 0.3 * torch.randn(1, 2, 44_100)
    with torch.no_grad():
        out = net(mix)
    assert out.shape == (1, 4, 2, 44_100)
    torch.testing.assert_close(out.sum(1), mix, atol=1e-5, rtol=0)
