"""Audio transformers from `transformers` under the SED head (hf.py): AST's own features, weights
from a save_pretrained folder and refused when wrong, the frame-to-seconds mapping, and a demo
trained, inferred and blended with each family."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from backends import OPENVINO_CRASHES
from configs import load_config
from configs.base import HF_BACKBONES, HF_SAMPLE_RATES, ConfigError
from conftest import TINY_RUN, _write_config, cwd
from hf import (FAMILIES, FBANK_HOP, ClapMel, KaldiFbank, build_encoder, nearest_tokens,
                receptive_field)
from models import build_model

TINY = {
    "hf_ast": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64),
    "hf_hubert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                      num_conv_pos_embedding_groups=2),
    "hf_wav2vec2": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                        num_conv_pos_embedding_groups=2),
    # a 2-stage Swin on 32 mel bins: freq_ratio 2, chunks of 128 frames (1.28 s)
    "hf_clap": dict(depths=(1, 1), num_attention_heads=(2, 4), hidden_size=32,
                    patch_embeds_hidden_size=16, spec_size=64, window_size=4, num_mel_bins=32),
}


def rate(family: str) -> tuple[int, int]:
    """(sample_rate, hop_length): each family's rate, 100 frames a second."""
    return HF_SAMPLE_RATES[family], HF_SAMPLE_RATES[family] // 100


def tiny_config(family: str, **fields):
    sr, hop = rate(family)
    return load_config("exp001", {"backbone": family, "sample_rate": sr, "hop_length": hop,
                                  "duration": 2.0, "head_hidden": 16, "mel_bins": 32,
                                  "hf_config": TINY[family], **fields})


def test_the_families_are_the_configs_backbones():
    assert set(FAMILIES) == set(HF_BACKBONES)


def test_ast_features_are_its_feature_extractors():
    from transformers import ASTFeatureExtractor

    wave = (np.random.default_rng(0).standard_normal(16000 * 2) * 0.1).astype(np.float32)
    fbank = KaldiFbank()
    ours = fbank.normalise(fbank(torch.from_numpy(wave)[None]))[0].numpy()
    theirs = ASTFeatureExtractor(max_length=len(ours))(wave, sampling_rate=16000,
                                                       return_tensors="np")["input_values"][0]
    assert ours.shape == theirs.shape == (198, 128)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_clap_features_are_its_feature_extractors():
    """An unfused CLAP's input: ClapFeatureExtractor on a 10-s clip (nothing padded or cut)."""
    from transformers import ClapFeatureExtractor

    wave = (np.random.default_rng(0).standard_normal(48000 * 10) * 0.1).astype(np.float32)
    theirs = ClapFeatureExtractor(truncation="rand_trunc", frequency_min=50)(
        wave, sampling_rate=48000, return_tensors="np")["input_features"][0, 0]
    ours = ClapMel(64, fmin=50)(torch.from_numpy(wave)[None])[0].numpy()
    assert ours.shape == theirs.shape == (1001, 64)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)  # dB


@pytest.mark.parametrize("family", HF_BACKBONES)
def test_a_saved_encoder_loads_back_through_pretrained_path(family, tmp_path):
    torch.manual_seed(0)
    built = build_model(tiny_config(family), 3).eval()
    built.encoder.save_pretrained(tmp_path / "weights")
    loaded = build_model(tiny_config(family, hf_config=None,
                                     pretrained_path=str(tmp_path / "weights")), 3).eval()
    loaded.head.load_state_dict(built.head.state_dict())  # the head is trained per run
    wave = torch.randn(2, rate(family)[0] * 2)
    with torch.no_grad():
        a, b = built(wave), loaded(wave)
    assert a["framewise_output"].shape == (2, 201, 3)  # frame i at i * hop_length samples
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


def test_missing_empty_or_foreign_weights_folders_stop_with_the_reason(tmp_path):
    with pytest.raises(SystemExit, match="no such folder"):
        build_encoder("hf_ast", str(tmp_path / "absent"), {})
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no config.json"):
        build_encoder("hf_ast", str(tmp_path / "empty"), {})
    build_model(tiny_config("hf_hubert"), 3).encoder.save_pretrained(tmp_path / "hubert")
    with pytest.raises(SystemExit, match="'hubert' model"):
        build_encoder("hf_ast", str(tmp_path / "hubert"), {})
    for weights in (tmp_path / "hubert").glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(SystemExit, match="no weights"):
        build_encoder("hf_hubert", str(tmp_path / "hubert"), {})
    config = json.loads((tmp_path / "hubert" / "config.json").read_text())
    assert config["model_type"] == "hubert"


def test_a_whole_clap_folder_gives_its_audio_tower(tmp_path):
    """laion's CLAP checkpoints are whole ClapModels (text and audio towers): the audio
    tower's weights are the ones loaded."""
    from transformers import ClapConfig, ClapModel, ClapTextConfig

    text = ClapTextConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=16, vocab_size=50)
    whole = ClapModel(ClapConfig(text_config=text.to_dict(),
                                 audio_config=TINY["hf_clap"], projection_dim=8))
    whole.save_pretrained(tmp_path / "clap")
    tower = build_encoder("hf_clap", str(tmp_path / "clap"), {})
    expected = whole.audio_model.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in tower.state_dict().items())


def test_configs_that_cannot_work_stop_when_they_load():
    with pytest.raises(ConfigError, match="16000-Hz"):
        load_config("exp001", {"backbone": "hf_ast"})
    with pytest.raises(ConfigError, match="48000-Hz"):
        load_config("exp001", {"backbone": "hf_clap", "sample_rate": 16000})
    with pytest.raises(ConfigError, match="local folder"):
        tiny_config("hf_ast", pretrained=True, hf_config=None)
    with pytest.raises(ConfigError, match="drop one of them"):
        tiny_config("hf_ast", pretrained_path="input/ast")
    with pytest.raises(ConfigError, match="hf_config"):
        load_config("exp001", {"hf_config": {"hidden_size": 8}})


def test_conv_receptive_field_is_the_encoders():
    """HuBERT's conv stack: a change at one sample moves exactly the steps whose receptive
    field (size, stride from receptive_field) covers it (with layer norm per step: the group
    norm of base checkpoints normalises over all steps, which would move every one)."""
    encoder = build_model(tiny_config("hf_hubert", hf_config=dict(
        TINY["hf_hubert"], feat_extract_norm="layer")), 3).encoder.eval()
    size, stride = receptive_field(encoder.config.conv_kernel, encoder.config.conv_stride)
    assert (size, stride) == (400, 320)
    wave = torch.randn(1, 4000)
    poked = wave.clone()
    poked[0, 1000] += 1.0
    with torch.no_grad():
        a = encoder.feature_extractor(wave)[0]
        b = encoder.feature_extractor(poked)[0]
    moved = np.flatnonzero((a - b).abs().amax(dim=0).numpy() > 0)
    covers = [j for j in range(a.shape[1]) if j * stride <= 1000 < j * stride + size]
    assert moved.tolist() == covers


@pytest.mark.parametrize("family", HF_BACKBONES)
def test_a_known_event_lands_in_its_rows(family):
    """Each output frame reads the token centred nearest its time, across AST's chunks too
    (a 7-s input is three of this AST's 2-s chunks): the event's 5-s row gets its frames."""
    model = build_model(tiny_config(family), 3).eval()
    seconds, (sr, hop) = 7.0, rate(family)
    with torch.no_grad():
        x = model.front_end(torch.zeros(1, int(seconds * sr)))
        hidden, centres = model.tokens(x)
    assert hidden.shape[1] == len(centres)
    n_frames = int(seconds * sr) // hop + 1
    index = nearest_tokens(n_frames, hop, centres).numpy()
    frame_s = np.arange(n_frames) * hop / sr
    token_s = centres.numpy()[index] / sr
    step = float(np.diff(centres.numpy()).max()) / sr
    assert np.all(np.abs(token_s - frame_s)[(frame_s > step) & (frame_s < seconds - step)]
                  <= step / 2 + 1e-9)
    # an event at 5.5-6.5 s: the frames that read its tokens all lie in the row 5-10 s
    event = np.flatnonzero((token_s >= 5.5) & (token_s <= 6.5))
    assert len(event) and frame_s[event].min() >= 5.0 - step and frame_s[event].max() < 10.0


def test_ast_chunks_cover_a_long_window_in_order():
    model = build_model(tiny_config("hf_ast"), 3).eval()
    assert model.chunk == KaldiFbank.frames(2 * 16000)  # built for the 2-s crop
    with torch.no_grad():
        _, centres = model.tokens(model.front_end(torch.zeros(1, 16000 * 5)))
    assert np.all(np.diff(centres.numpy()) > 0)
    assert centres[0] == pytest.approx(7.5 * FBANK_HOP + 199.5)  # patch 0: frames 0-15


def test_clap_chunks_cover_a_long_window_in_order():
    """Tiny CLAP: 128-frame chunks give 16 steps of 8 frames (480 samples each), in order
    across chunks; frame k of the log-mel is centred at sample 480 k."""
    model = build_model(tiny_config("hf_clap"), 3).eval()
    assert model.chunk == 128
    with torch.no_grad():
        hidden, centres = model.tokens(model.front_end(torch.zeros(1, 48000 * 3)))
    assert hidden.shape[1] == len(centres) == 3 * 16  # 301 frames: three chunks
    np.testing.assert_allclose(np.diff(centres.numpy()), 8 * 480)
    assert centres[0] == pytest.approx(3.5 * 480)  # step 0: frames 0-7


@pytest.fixture(scope="module")
def demo_with_cnn(tmp_path_factory):
    """A tiny RFCX demo with a CNN trained and inferred on it (TINY_RUN), for each family to
    blend with, as a user blends a transformer with the CNN recipe."""
    import infer
    import prepare
    import train
    from make_demo import make_rfcx_demo

    work = tmp_path_factory.mktemp("hf_demo")
    make_rfcx_demo(work / "input" / "tiny", seed=5, n_species=3, n_train=8, n_test=2,
                   duration=4.0, sr=8000)
    cnn = _write_config(work / "cnn.py", **TINY_RUN)
    with cwd(work):
        for step in (prepare, train, infer):
            step.main([cnn])
    return work


@pytest.mark.parametrize("family", HF_BACKBONES)
def test_each_family_trains_infers_blends_and_exports_on_the_demo(family, demo_with_cnn, capsys):
    import ensemble
    import export
    import infer
    import prepare
    import train

    name = family.replace("_", "")
    sr, hop = rate(family)
    path = _write_config(demo_with_cnn / f"{name}.py", **{
        **TINY_RUN, "backbone": family, "sample_rate": sr, "hop_length": hop,
        "mel_bins": 32, "hf_config": TINY[family]})
    with cwd(demo_with_cnn):
        for step in (prepare, train, infer):  # one epoch per fold (TINY_RUN)
            step.main([path])
        ensemble.main([f"oof/{name}.npy", "oof/cnn.npy", "--out", f"submissions/{name}+.csv"])
        export.main([path])  # both folds as one ONNX graph; stops if any output differs by 1e-4
        sub = pd.read_csv(f"submissions/{name}.csv")
        blend = pd.read_csv(f"submissions/{name}+.csv")
        config = json.loads(Path(f"models/{name}/config.json").read_text())
    assert config["backbone"] == family and config["sample_rate"] == sr
    assert len(sub) == len(blend) > 0 and np.isfinite(sub.iloc[:, 1:].to_numpy()).all()
    assert sub.columns.tolist() == blend.columns.tolist()
    assert (demo_with_cnn / "models" / name / "ensemble.onnx").is_file()
    printed = capsys.readouterr().out
    assert "onnx_max_abs_diff" in printed
    assert ("openvino_max_abs_diff" in printed) == (family not in OPENVINO_CRASHES)
