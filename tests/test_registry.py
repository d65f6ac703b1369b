"""Tests for the model registry and every registered architecture (CPU only, no downloads)."""

from __future__ import annotations

import pytest
import torch
from facenet_pytorch import InceptionResnetV1
from torch import nn
from torchvision.models import efficientnet_b0

from core.models import registry
from core.models.registry import create_model, list_models, model_spec
from core.models.transfer import adapt_first_conv

NUM_CLASSES = 5


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Hand arithmetic for parameter counts: weights plus one bias per output unit.
def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def linear(fan_in: int, fan_out: int) -> int:
    return fan_in * fan_out + fan_out


def bn(channels: int) -> int:
    return 2 * channels  # weight and bias; running stats are buffers


# --- every model ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list_models())
def test_every_model_returns_finite_logits(name: str) -> None:
    size = model_spec(name).input_size
    model = create_model(name, num_classes=NUM_CLASSES, in_chans=1).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, size, size))
    assert out.shape == (2, NUM_CLASSES)
    assert torch.isfinite(out).all()


def test_efficientnet_accepts_rgb() -> None:
    model = create_model("efficientnet_b0", num_classes=NUM_CLASSES, in_chans=3).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 160, 160))
    assert out.shape == (2, NUM_CLASSES)


def test_specs_are_described() -> None:
    for name in list_models():
        spec = model_spec(name)
        assert spec.name == name and spec.description and spec.source and spec.input_size >= 16
    assert model_spec("fernet").options() == {"width": 1.0, "dropout": 0.3}


# --- registry contract --------------------------------------------------------------------------


def test_unknown_name_lists_every_valid_name() -> None:
    with pytest.raises(ValueError) as caught:
        create_model("no_such_net", num_classes=NUM_CLASSES)
    for name in list_models():
        assert name in str(caught.value)


def test_unknown_option_is_named() -> None:
    with pytest.raises(ValueError, match="colour"):
        create_model("fernet", num_classes=NUM_CLASSES, colour="red")


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_num_classes_is_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="num_classes"):
        create_model("fernet", num_classes=bad)


def test_register_and_duplicate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @registry.register_model("toy", input_size=8, source="test")
    def build_toy(num_classes: int, in_chans: int) -> nn.Module:
        """Toy model."""
        return nn.Sequential(nn.Flatten(), nn.Linear(in_chans * 64, num_classes))

    assert "toy" in list_models() and model_spec("toy").description == "Toy model."
    assert create_model("toy", num_classes=3)(torch.zeros(1, 1, 8, 8)).shape == (1, 3)
    with pytest.raises(ValueError, match="already registered"):
        registry.register_model("toy")(lambda num_classes, in_chans: nn.Identity())


# --- seed architectures: exact sizes and state_dict keys ------------------------------------------


def test_emotion_cnn_matches_seed_param_count() -> None:
    assert count_params(create_model("emotion_cnn", num_classes=6)) == 1_484_806


def test_vggnet_param_count() -> None:
    expected = (
        conv(1, 32, 3)  # 320
        + conv(32, 64, 3)  # 18,496
        + conv(64, 128, 3)  # 73,856
        + conv(128, 128, 3)  # 147,584
        + linear(128 * 6 * 6, 1024)  # 4,719,616
        + linear(1024, 1024)  # 1,049,600
        + linear(1024, NUM_CLASSES)  # 5,125
    )
    assert expected == 6_014_597
    assert count_params(create_model("vggnet", num_classes=NUM_CLASSES)) == expected


def residual(cin: int, cout: int, shortcut: bool) -> int:
    return conv(cin, cout, 3) + conv(cout, cout, 3) + (conv(cin, cout, 1) if shortcut else 0) + bn(cout) * 2


def test_resnet_param_count() -> None:
    expected = (
        conv(1, 64, 7)
        + bn(64)  # stem: 3,328
        + residual(64, 64, False) * 2  # block1: 148,224
        + residual(64, 128, True)
        + residual(128, 128, False)  # block2: 525,952
        + residual(128, 256, True)
        + residual(256, 256, False)  # block3: 2,100,480
        + residual(256, 512, True)
        + residual(512, 512, False)  # block4: 8,395,264
        + linear(512, NUM_CLASSES)  # 2,565
    )
    assert expected == 11_175_813
    assert count_params(create_model("resnet", num_classes=NUM_CLASSES)) == expected


def test_face_emotion_cnn_param_count() -> None:
    widths = [1, 8, 16, 32, 64, 128, 256, 256]
    # conv+BN per block: 96, 1,200, 4,704, 18,624, 74,112, 295,680, 590,592
    convs = sum(conv(cin, cout, 3) + bn(cout) for cin, cout in zip(widths, widths[1:]))
    # dense: 524,800 + 131,328 + 1,285
    dense = linear(256 * 2 * 2, 512) + linear(512, 256) + linear(256, NUM_CLASSES)
    assert convs + dense == 1_642_421
    assert count_params(create_model("face_emotion_cnn", num_classes=NUM_CLASSES)) == convs + dense


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("face_emotion_cnn", ["cnn1.weight", "cnn7_bn.running_mean", "fc3.weight"]),
        ("vggnet", ["vgg_block_1.0.weight", "vgg_block_3.2.weight", "fc.1.weight", "fc.7.weight"]),
        ("resnet", ["0.weight", "1.running_var", "resnet_block2.0.conv3.weight", "fc.1.weight"]),
    ],
)
def test_seed_state_dict_keys(name: str, keys: list[str]) -> None:
    state = create_model(name, num_classes=7).state_dict()
    for key in keys:
        assert key in state


def test_face_emotion_cnn_outputs_log_probabilities() -> None:
    model = create_model("face_emotion_cnn", num_classes=NUM_CLASSES).eval()
    with torch.no_grad():
        probs = model(torch.randn(2, 1, 48, 48)).exp().sum(dim=1)
    assert torch.allclose(probs, torch.ones(2), atol=1e-5)


# --- transfer models ---------------------------------------------------------------------------


def test_efficientnet_freeze_backbone_leaves_only_head_trainable() -> None:
    model = create_model("efficientnet_b0", num_classes=NUM_CLASSES, freeze_backbone=True)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    head = {f"classifier.{name}" for name, _ in model.classifier.named_parameters()}
    assert trainable == head


def test_efficientnet_max_pooling_swaps_pool() -> None:
    assert isinstance(create_model("efficientnet_b0", num_classes=2).avgpool, nn.AdaptiveAvgPool2d)
    model = create_model("efficientnet_b0", num_classes=2, max_pooling=True)
    assert isinstance(model.avgpool, nn.AdaptiveMaxPool2d)


def test_efficientnet_loads_local_imagenet_style_weights(tmp_path) -> None:
    source = efficientnet_b0(weights=None)  # same key layout as the published ImageNet file
    path = tmp_path / "efficientnet_b0_imagenet.pth"
    torch.save(source.state_dict(), path)
    model = create_model("efficientnet_b0", num_classes=NUM_CLASSES, in_chans=1, weights=str(path))
    assert torch.equal(model.features[3][0].block[0][0].weight, source.features[3][0].block[0][0].weight)
    rgb_kernel = source.features[0][0].weight
    assert torch.allclose(model.features[0][0].weight, rgb_kernel.sum(dim=1, keepdim=True))


def test_efficientnet_reloads_its_own_gray_backbone(tmp_path) -> None:
    fresh = create_model("efficientnet_b0", num_classes=NUM_CLASSES)
    backbone = {k: v for k, v in fresh.state_dict().items() if not k.startswith("classifier.")}
    path = tmp_path / "gray_backbone.pth"
    torch.save(backbone, path)
    model = create_model("efficientnet_b0", num_classes=NUM_CLASSES, weights=path)
    assert torch.equal(model.features[0][0].weight, fresh.features[0][0].weight)
    assert torch.equal(model.features[8][1].running_mean, fresh.features[8][1].running_mean)


@pytest.mark.parametrize("name", ["efficientnet_b0", "inception_resnet_v1"])
def test_missing_weights_file_raises(name: str, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="never downloads"):
        create_model(name, num_classes=NUM_CLASSES, weights=tmp_path / "absent.pt")


def test_inception_loads_face_weights_and_skips_logits(tmp_path) -> None:
    source = InceptionResnetV1(classify=True, num_classes=11)  # stands in for VGGFace2's 8631 ids
    path = tmp_path / "vggface2.pt"
    torch.save(source.state_dict(), path)
    model = create_model("inception_resnet_v1", num_classes=NUM_CLASSES, weights=path, freeze_backbone=True)
    assert torch.equal(model.last_linear.weight, source.last_linear.weight)
    rgb_kernel = source.conv2d_1a.conv.weight
    assert torch.allclose(model.conv2d_1a.conv.weight, rgb_kernel.sum(dim=1, keepdim=True))
    assert model.logits.out_features == NUM_CLASSES
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {"logits.weight", "logits.bias"}


def test_adapt_first_conv_sees_gray_as_rgb() -> None:
    rgb = nn.Conv2d(3, 4, kernel_size=3, padding=1)
    gray = adapt_first_conv(rgb, 1)
    image = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(gray(image), rgb(image.expand(-1, 3, -1, -1)), atol=1e-5)
    assert adapt_first_conv(rgb, 3) is rgb
    assert adapt_first_conv(rgb, 4).weight.shape == (4, 4, 3, 3)


# --- fernet -------------------------------------------------------------------------------------


def test_fernet_size_and_width() -> None:
    full = create_model("fernet", num_classes=7)
    slim = create_model("fernet", num_classes=7, width=0.25).eval()
    assert 1_000_000 < count_params(full) < 1_400_000
    assert count_params(slim) < count_params(full) / 10
    with torch.no_grad():
        assert slim(torch.randn(2, 1, 48, 48)).shape == (2, 7)


@pytest.mark.parametrize("size", [16, 64])
def test_fernet_takes_other_input_sizes(size: int) -> None:
    model = create_model("fernet", num_classes=3).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, size, size)).shape == (1, 3)


@pytest.mark.parametrize("option", [{"width": 0}, {"dropout": 1.0}])
def test_fernet_rejects_bad_option_values(option: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(option))):
        create_model("fernet", num_classes=3, **option)


def test_parameter_count_matches_built_model() -> None:
    assert registry.parameter_count("emotion_cnn", num_classes=6) == 1_484_806
    slim = registry.parameter_count("fernet", num_classes=7, width=0.25)
    assert slim == count_params(create_model("fernet", num_classes=7, width=0.25))
