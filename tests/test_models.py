import pytest
import timm
import torch

from models import SedModel, create_backbone

TINY = dict(sample_rate=16000, n_fft=512, hop_length=160, mel_bins=32, fmin=50,
            backbone="resnet10t", head_hidden=32)


def test_output_shapes_and_framewise_clipwise_consistency():
    torch.manual_seed(0)
    model = SedModel(n_classes=5, **TINY).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 16000) * 0.1)
    clip, frame = out["clipwise_output"], out["framewise_output"]
    assert clip.shape == (3, 5)
    assert frame.shape == (3, 16000 // 160 + 1, 5)  # one frame per STFT hop
    # the clip score is an attention-weighted mean of frame scores: inside their range
    assert torch.all(clip <= frame.max(dim=1).values + 1e-6)
    assert torch.all(clip >= frame.min(dim=1).values - 1e-6)
    assert torch.all((frame >= 0) & (frame <= 1))


def test_three_channel_input_and_silence_are_finite():
    model = SedModel(n_classes=2, channels=("logmel", "pcen", "power", "denoised"), **TINY).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 8000))  # exact digital silence
    assert torch.isfinite(out["clipwise_output"]).all()


def test_denoised_channel_removes_the_steady_background_and_keeps_the_call():
    from models import Features
    sr = 16000
    t = torch.arange(2 * sr) / sr
    hum = 0.3 * torch.sin(2 * torch.pi * 1000 * t)  # steady all clip long
    call = torch.where((t > 0.8) & (t < 1.0), 0.3 * torch.sin(2 * torch.pi * 4000 * t), 0 * t)
    feats = Features(sr, 512, 160, 32, 50, None, ("logmel", "denoised"))
    logmel, denoised = feats((hum + call)[None])[0]
    hum_bin = logmel.mean(0).argmax()  # the steady tone's mel bin: loud in log-mel only
    assert logmel[:, hum_bin].min() > logmel.median() + 20
    assert denoised[2:-2, hum_bin].abs().max() < 1.0  # (edge frames see the padding)
    call_frames = slice(int(0.85 * sr / 160), int(0.95 * sr / 160))
    assert denoised[call_frames].max() > 30  # the call stands far above its bin's median


def test_local_pretrained_file_is_loaded_and_missing_weights_raise(tmp_path):
    source = timm.create_model("resnet10t", pretrained=False, num_classes=0, in_chans=1)
    torch.save(source.state_dict(), tmp_path / "weights.pth")
    loaded = create_backbone("resnet10t", 1, pretrained_path=str(tmp_path / "weights.pth"))
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(FileNotFoundError):
        create_backbone("resnet10t", 1, pretrained_path=str(tmp_path / "missing.pth"))


def test_pretrained_that_cannot_be_had_raises(monkeypatch):
    real = timm.create_model

    def offline(*args, pretrained=False, **kwargs):
        if pretrained:
            raise OSError("no internet")
        return real(*args, **kwargs)
    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(RuntimeError, match="pretrained_path"):
        create_backbone("resnet10t", 1, pretrained=True)
