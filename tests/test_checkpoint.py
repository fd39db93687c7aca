"""Checkpoints carry what is needed to run them and fail clearly when unusable."""

import pytest
import torch

from sargeo.checkpoint import Checkpoint, CheckpointError, load_checkpoint, read_payload, save_checkpoint
from sargeo.model import Generator, init_weights
from sargeo.models import DEFAULT_MODEL
from sargeo.postprocess import AdjustedGenerator, OutputAdjust
from sargeo.scaling import SarScaling

ADJUST = OutputAdjust(mean_rgb=(0.35, 0.38, 0.33), lightness=0.7, chroma=0.4, water_guard=True)


@pytest.fixture
def ckpt():
    torch.manual_seed(1)
    g = Generator(width=4)
    init_weights(g)
    return Checkpoint(generator=g, scaling=SarScaling(-30.0, 5.0), config={"epochs": 3},
                      split={"train": ["a"], "val": ["b"], "test": ["c"], "seed": 0},
                      metrics={"val_psnr": 12.5})


def test_round_trip_keeps_weights_and_metadata(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    back = load_checkpoint(path)
    assert back.width == 4 and back.scaling == SarScaling(-30.0, 5.0)
    assert back.config == {"epochs": 3} and back.split["test"] == ["c"]
    assert back.metrics == {"val_psnr": 12.5}
    assert not back.generator.training
    x = torch.randn(1, 1, 256, 256)
    ckpt.generator.eval()
    with torch.no_grad():
        torch.testing.assert_close(back.generator(x), ckpt.generator(x))


def test_loading_draws_no_weights_it_would_overwrite(tmp_path, ckpt, monkeypatch):
    """Random initialisation of the weights a checkpoint replaces took 320 ms at the paper's
    width; the loaded net still trains (real, trainable parameters, none left on the meta device)."""
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)

    def refuse_real(draw):
        def draw_on_meta_only(self, *args, **kwargs):
            assert self.device.type == "meta", "weights initialised while loading a checkpoint"
            return draw(self, *args, **kwargs)
        return draw_on_meta_only

    for name in ("uniform_", "normal_"):
        monkeypatch.setattr(torch.Tensor, name, refuse_real(getattr(torch.Tensor, name)))
    back = load_checkpoint(path)
    monkeypatch.undo()
    tensors = [*back.generator.parameters(), *back.generator.buffers()]
    assert {t.device.type for t in tensors} == {"cpu"}
    assert all(p.requires_grad for p in back.generator.parameters())
    back.generator.train()(torch.randn(2, 1, 256, 256)).mean().backward()
    assert all(p.grad is not None for p in back.generator.parameters())


def test_half_precision_storage_loads_as_float32(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path, half=True)
    back = load_checkpoint(path)
    assert all(p.dtype == torch.float32 for p in back.generator.parameters())


def test_corrupt_file_gives_clear_error(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_missing_file_and_foreign_pickle_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a sargeo checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_other_architecture_is_refused(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    payload = torch.load(path, weights_only=False)
    payload["architecture"] = "resnet-9blocks"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="resnet-9blocks"):
        load_checkpoint(path)


def test_weights_of_another_width_are_refused(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    payload = torch.load(path, weights_only=False)
    payload["width"] = 8
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)


@pytest.mark.parametrize(("edit", "named"), [
    (lambda p: p.pop("scaling"), "no 'scaling' field"),
    (lambda p: p.pop("width"), "no 'width' field"),
    (lambda p: p.pop("generator"), "no 'generator' field"),
    (lambda p: p.update(width="4"), "malformed 'width' field"),
    (lambda p: p.update(scaling={"kind": "db_linear", "db_min": -25.0}), "malformed 'scaling' field"),
    (lambda p: p.update(generator=[1, 2]), "malformed 'generator' field"),
    (lambda p: p.update(split={"train": ["a"], "val": ["b"]}), "malformed 'split' field"),
    (lambda p: p.update(config="epochs=3"), "malformed 'config' field"),
    (lambda p: p.update(input_norm="pixel"), "malformed 'input_norm' field 'pixel'"),
    (lambda p: p.update(input_norm=None), "malformed 'input_norm' field None"),
    (lambda p: p.update(output_adjust="flat"), "malformed 'output_adjust' field"),
    (lambda p: p.update(output_adjust={"mean_rgb": [2.0, 0.0, 0.0]}), "malformed 'output_adjust' field"),
    (lambda p: p.update(output_adjust={"mean_rgb": [0.3] * 3, "chroma": 9.0}), "malformed 'output_adjust'"),
])
def test_missing_or_malformed_fields_are_named(tmp_path, ckpt, edit, named):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=named):
        load_checkpoint(path)



def _payload(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_plain_checkpoint_stays_format_1_without_the_new_fields(tmp_path, ckpt):
    save_checkpoint(ckpt, tmp_path / "m.pt")
    payload = _payload(tmp_path / "m.pt")
    assert payload["format_version"] == 1
    assert "input_norm" not in payload and "output_adjust" not in payload
    back = load_checkpoint(tmp_path / "m.pt")
    assert type(back.generator) is Generator and back.adjust is None and back.input_norm == "none"


def test_input_norm_and_output_adjust_round_trip_as_format_2(tmp_path):
    torch.manual_seed(2)
    gen = Generator(width=4, input_norm="tile")
    init_weights(gen)
    ckpt = Checkpoint(generator=gen.eval(), scaling=SarScaling(-30.0, 5.0), adjust=ADJUST)
    save_checkpoint(ckpt, tmp_path / "m.pt")
    payload = _payload(tmp_path / "m.pt")
    assert payload["format_version"] == 2  # sargeo releases that read format 1 refuse it
    assert payload["input_norm"] == "tile" and payload["output_adjust"] == ADJUST.to_dict()
    assert payload["generator"].keys() == Generator(width=4).state_dict().keys()
    back = load_checkpoint(tmp_path / "m.pt")
    assert isinstance(back.generator, AdjustedGenerator) and not back.generator.training
    assert back.adjust == ADJUST and back.input_norm == "tile"
    assert back.generator.generator.input_norm == "tile"
    assert back.generator.scaling == SarScaling(-30.0, 5.0)  # the water threshold follows the model's window
    x = torch.rand(2, 1, 256, 256) * 2 - 1
    x[0, :, 60:140, 60:140] = -0.95  # a lake, so the water guard takes part
    with torch.no_grad():
        torch.testing.assert_close(back.generator(x), ckpt.generator(x))
        assert (back.generator(x) - back.generator.generator(x)).abs().max() > 0.1


def test_input_norm_alone_is_format_2_and_loads_a_plain_generator(tmp_path):
    save_checkpoint(Checkpoint(generator=Generator(width=4, input_norm="tile")), tmp_path / "m.pt")
    assert _payload(tmp_path / "m.pt")["format_version"] == 2
    back = load_checkpoint(tmp_path / "m.pt")
    assert type(back.generator) is Generator and back.generator.input_norm == "tile" and back.adjust is None


def test_adjust_given_either_way_wraps_the_generator_once():
    gen = Generator(width=4).eval()
    by_field = Checkpoint(generator=gen, adjust=ADJUST)
    assert isinstance(by_field.generator, AdjustedGenerator) and by_field.generator.generator is gen
    assert not by_field.generator.training  # wrapping keeps the mode of the model wrapped
    wrapped = AdjustedGenerator(gen, ADJUST)
    by_wrapper = Checkpoint(generator=wrapped)
    assert by_wrapper.generator is wrapped and by_wrapper.adjust == ADJUST
    assert by_field.plain_generator is by_wrapper.plain_generator is gen
    with pytest.raises(ValueError, match="adjust differs"):
        Checkpoint(generator=wrapped, adjust=OutputAdjust(mean_rgb=(0.5, 0.5, 0.5)))


def test_newer_format_is_refused(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    payload = _payload(path)
    payload["format_version"] = 3
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="needs a newer sargeo .format 3"):
        load_checkpoint(path)


def test_shipped_default_model_loads_and_re_saves_unchanged(tmp_path):
    """The shipped model uses both format-2 features; saving it again keeps every field and weight."""
    assert read_payload(DEFAULT_MODEL)["format_version"] == 2
    ckpt = load_checkpoint(DEFAULT_MODEL)
    assert type(ckpt.plain_generator) is Generator and ckpt.input_norm == "tile"
    assert ckpt.adjust is not None and ckpt.adjust.water_guard
    save_checkpoint(ckpt, tmp_path / "again.pt")
    again, original = _payload(tmp_path / "again.pt"), _payload(DEFAULT_MODEL)
    assert again["format_version"] == 2 and again.keys() == original.keys()
    assert again["output_adjust"] == original["output_adjust"]
    for key, value in original["generator"].items():
        want = value.float() if value.is_floating_point() else value
        torch.testing.assert_close(again["generator"][key], want)
