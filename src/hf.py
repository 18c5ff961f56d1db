"""Audio transformers from `transformers` as SED backbones, with the project's SED head.

    backbone = "hf_ast"        # Audio Spectrogram Transformer on its own Kaldi fbank
    backbone = "hf_hubert"     # waveform encoders (bioacoustic AVES checkpoints are HuBERT)
    backbone = "hf_wav2vec2"
    pretrained_path = "input/ast-audioset"   # a folder save_pretrained wrote (config.json +
                                             # model.safetensors), e.g. a Kaggle dataset
    hf_config = dict(hidden_size=192, ...)   # no weights: a model built from its config

    backbone = "hf_clap"       # CLAP's audio tower (HTSAT, a Swin transformer) on its log-mel

AST and the waveform encoders read 16-kHz audio, CLAP 48-kHz (`sample_rate`: the cache follows
the backbone, configs.base.HF_SAMPLE_RATES). The
encoder's token sequence goes through `heads.SedHead`, and each output frame takes the token
whose receptive field is centred nearest to it, so `framewise_output` keeps the pipeline's
timeline (frame i at i * hop_length / sample_rate seconds) and rows, stitching, export and
blending work as for a CNN. AST and CLAP see their input in chunks of the length they were
built for (AST's `max_length` fbank frames, CLAP's spec_size x freq_ratio frames), so a window
longer than a checkpoint's 10.24 s still fits.

`transformers` is imported only when such a backbone is built: its import is slow.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from augment import mix
from heads import SedHead

SAMPLE_RATE = 16000  # AST's and the waveform encoders'
# backbone -> (transformers model class, config class, model_type in a folder's config.json)
FAMILIES = {
    "hf_ast": ("ASTModel", "ASTConfig", "audio-spectrogram-transformer"),
    "hf_hubert": ("HubertModel", "HubertConfig", "hubert"),
    "hf_wav2vec2": ("Wav2Vec2Model", "Wav2Vec2Config", "wav2vec2"),
    "hf_clap": ("ClapAudioModel", "ClapAudioConfig", "clap_audio_model"),
}
CLAP_FULL = "clap"  # a whole CLAP (text and audio towers): its audio tower is taken
DB_FLOOR = -100.0  # CLAP's log-mel of silence: 10 log10 of its 1e-10 floor
# AST's Kaldi fbank, as ASTFeatureExtractor computes it: 25-ms frames every 10 ms at 16 kHz
FBANK_WIN, FBANK_HOP, FBANK_FFT = 400, 160, 512
AUDIOSET_MEAN, AUDIOSET_STD = -4.2677393, 4.5689974  # ASTFeatureExtractor's defaults


class KaldiFbank(nn.Module):
    """AST's input in torch (so it runs on the GPU, in the exported graph and once per batch):
    per 25-ms frame the DC offset removed, pre-emphasis 0.97, a symmetric Hann window, a
    512-point power spectrum, Kaldi's mel filters (triangles in mel space from 20 Hz), the
    natural log; then ASTFeatureExtractor's normalisation (x - mean) / (2 std). Always fp32."""

    def __init__(self, mel_bins: int = 128, mean: float = AUDIOSET_MEAN,
                 std: float = AUDIOSET_STD) -> None:
        super().__init__()
        from transformers.audio_utils import mel_filter_bank

        with warnings.catch_warnings():  # 128 filters on 257 bins leave the lowest empty, as
            warnings.simplefilter("ignore")  # in the checkpoints' own features
            mel = mel_filter_bank(num_frequency_bins=FBANK_FFT // 2 + 1, num_mel_filters=mel_bins,
                                  min_frequency=20, max_frequency=SAMPLE_RATE // 2,
                                  sampling_rate=SAMPLE_RATE, norm=None, mel_scale="kaldi",
                                  triangularize_in_mel_space=True)
        self.register_buffer("mel", torch.tensor(mel, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(FBANK_WIN, periodic=False),
                             persistent=False)
        self.mean, self.std = float(mean), float(std)

    @staticmethod
    def frames(n_samples: int) -> int:
        """Fbank frames of `n_samples` samples (no centring: Kaldi's snip_edges)."""
        return 1 + (max(n_samples, FBANK_WIN) - FBANK_WIN) // FBANK_HOP

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, frames, mel_bins), raw log-mel (not yet normalised)."""
        with torch.autocast(wave.device.type, enabled=False):
            wave = wave.float()
            if wave.shape[1] < FBANK_WIN:
                wave = nn.functional.pad(wave, (0, FBANK_WIN - wave.shape[1]))
            x = wave.unfold(1, FBANK_WIN, FBANK_HOP)
            x = x - x.mean(dim=-1, keepdim=True)
            x = torch.cat([x[..., :1] * (1 - 0.97), x[..., 1:] - 0.97 * x[..., :-1]], dim=-1)
            power = torch.fft.rfft(x * self.window, n=FBANK_FFT).abs().pow(2)
            return torch.log((power @ self.mel).clamp_min(1.192092955078125e-07))

    def normalise(self, fbank: torch.Tensor) -> torch.Tensor:
        return (fbank - self.mean) / (2 * self.std)


class ClapMel(nn.Module):
    """CLAP's input in torch, as ClapFeatureExtractor computes it for an unfused checkpoint:
    a centred STFT (reflect padding, periodic Hann window), power, librosa's (Slaney) mel
    filters, 10 log10 floored at 1e-10. No normalisation: the model's own BatchNorm does it.
    Frame k is centred at sample k * hop_length."""

    def __init__(self, mel_bins: int = 64, sample_rate: int = 48000, n_fft: int = 1024,
                 hop_length: int = 480, fmin: float = 0.0, fmax: float = 14000.0) -> None:
        super().__init__()
        from transformers.audio_utils import mel_filter_bank

        mel = mel_filter_bank(num_frequency_bins=n_fft // 2 + 1, num_mel_filters=mel_bins,
                              min_frequency=fmin, max_frequency=fmax, sampling_rate=sample_rate,
                              norm="slaney", mel_scale="slaney")
        self.register_buffer("mel", torch.tensor(mel, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        self.n_fft, self.hop_length = n_fft, hop_length

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, frames, mel_bins) in dB."""
        with torch.autocast(wave.device.type, enabled=False):
            wave = wave.float()
            pad = self.n_fft // 2
            if wave.shape[1] <= pad:  # reflect padding needs more samples than it adds
                wave = nn.functional.pad(wave, (0, pad + 1 - wave.shape[1]))
            x = nn.functional.pad(wave[:, None], (pad, pad), mode="reflect")[:, 0]
            x = x.unfold(1, self.n_fft, self.hop_length)
            power = torch.fft.rfft(x * self.window).abs().pow(2)
            return 10 * torch.log10((power @ self.mel).clamp_min(1e-10))


def receptive_field(kernels: list[int], strides: list[int]) -> tuple[int, int]:
    """(size, stride) in samples of one output step of a stack of 1-d convolutions."""
    size, jump = 1, 1
    for k, s in zip(kernels, strides):
        size += (k - 1) * jump
        jump *= s
    return size, jump


def nearest_tokens(n_frames: int, hop_length: int, centres: torch.Tensor) -> torch.Tensor:
    """For each of the pipeline's frames (frame i at sample i * hop_length), the index of the
    token whose centre (in samples, ascending) is nearest."""
    at = torch.arange(n_frames, dtype=torch.float64) * hop_length
    mids = (centres[1:] + centres[:-1]) / 2
    return torch.bucketize(at, mids.to(torch.float64))


def check_folder(path: str | Path, family: str) -> str:
    """Stop unless `path` is a weights folder of `family`: missing, without config.json or
    weights, or another architecture's (its model_type), asked-for weights would otherwise
    become a random model or transformers' own traceback. Returns its model_type."""
    folder = Path(path)
    if not folder.is_dir():
        raise SystemExit(f"pretrained_path {folder}: no such folder. {family} loads a folder "
                         "that save_pretrained wrote (config.json + model.safetensors)")
    if not (folder / "config.json").is_file():
        raise SystemExit(f"pretrained_path {folder}: no config.json (a folder save_pretrained "
                         "wrote has config.json + model.safetensors)")
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise SystemExit(f"pretrained_path {folder}: no weights (*.safetensors or *.bin)")
    config = json.loads((folder / "config.json").read_text())
    wanted = FAMILIES[family][2]
    model_type = config.get("model_type")
    if model_type != wanted and not (family == "hf_clap" and model_type == CLAP_FULL):
        raise SystemExit(f"pretrained_path {folder} holds a {model_type!r} model; "
                         f"backbone {family!r} loads {wanted!r} (model_type in config.json)")
    return model_type


def build_encoder(family: str, pretrained_path: str | None, overrides: dict) -> nn.Module:
    """The transformers encoder: from a local folder, every weight filled, or built from its
    config (`overrides` on the family's defaults) for a from-scratch run."""
    import transformers

    model_name, config_name, _ = FAMILIES[family]
    model_cls = getattr(transformers, model_name)
    if pretrained_path:
        if check_folder(pretrained_path, family) == CLAP_FULL:  # the audio tower of a whole CLAP
            model_cls = transformers.ClapModel
        model, info = model_cls.from_pretrained(pretrained_path, local_files_only=True,
                                                output_loading_info=True)
        missing = [k for k in info.get("missing_keys", ()) if "masked_spec_embed" not in k]
        if missing:
            raise SystemExit(f"pretrained_path {pretrained_path}: {len(missing)} weight(s) of "
                             f"{model_name} missing, e.g. {missing[:3]}: not this family's "
                             "checkpoint")
        if model_cls is transformers.ClapModel:
            model = model.audio_model  # the text tower is dropped
        print(f"pretrained_path {pretrained_path}: loaded {model_name} "
              f"({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters)")
        return model
    return model_cls(getattr(transformers, config_name)(**overrides))


class HfSedModel(nn.Module):
    """A transformers audio encoder under the SED head: (batch, samples) at 16 kHz ->
    clipwise_output (batch, classes), framewise_output (batch, frames, classes) with frame i
    at i * hop_length samples, as SedModel's."""

    def __init__(self, family: str, encoder: nn.Module, n_classes: int, hop_length: int,
                 head_hidden: int, dropout: float, pooling: str = "attention",
                 embed_dim: int = 0, normalise: dict | None = None) -> None:
        super().__init__()
        if family not in FAMILIES:
            raise SystemExit(f"unknown backbone {family!r}; transformers families: "
                             f"{sorted(FAMILIES)}")
        self.family, self.encoder, self.hop_length = family, encoder, hop_length
        config = encoder.config
        normalise = normalise or {}
        self.fbank = self.mel = None
        width = config.hidden_size
        if family == "hf_ast":
            self.fbank = KaldiFbank(config.num_mel_bins, normalise.get("mean", AUDIOSET_MEAN),
                                    normalise.get("std", AUDIOSET_STD))
            self.chunk = config.max_length  # fbank frames the position embeddings cover
        elif family == "hf_clap":
            if config.enable_fusion:
                raise SystemExit("a fused CLAP (enable_fusion: four views of each clip) is not "
                                 "supported: use an unfused checkpoint, e.g. clap-htsat-unfused")
            self.mel = ClapMel(config.num_mel_bins, **clap_mel_settings(normalise))
            # the Swin image: spec_size x freq_ratio frames folded into freq_ratio rows
            self.chunk = config.spec_size * (config.spec_size // config.num_mel_bins)
            width = int(config.patch_embeds_hidden_size * 2 ** (len(config.depths) - 1))
        else:
            self.do_normalize = bool(normalise.get("do_normalize", True))
        # no front end shared across an ensemble's models (backends.Ensemble): the output's
        # frame count needs the waveform's own length, which an fbank does not keep exactly
        self.front_end_spec = None
        self.head = SedHead(width, n_classes, head_hidden, dropout, pooling)
        self.embed = nn.Linear(width, embed_dim) if embed_dim else None

    @property
    def trunk(self) -> nn.Module:
        """What layer_decay and freeze_epochs act on (param_groups)."""
        return self.encoder

    def front_end(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> the fixed input the encoder reads: AST's normalised fbank
        (batch, frames, mels) or the waveform, zero-mean unit-variance per clip where the
        checkpoint's feature extractor does so."""
        if self.fbank is not None:
            return self.fbank.normalise(self.fbank(wave))
        if self.mel is not None:
            return self.mel(wave)
        if not self.do_normalize:
            return wave
        wave = wave.float()
        return (wave - wave.mean(1, keepdim=True)) / torch.sqrt(
            wave.var(1, keepdim=True, unbiased=False) + 1e-7)

    def chunked(self, x: torch.Tensor, pad_value: float) -> tuple[torch.Tensor, int]:
        """(batch, frames, mels) -> (batch * n_chunks, chunk, mels), the last chunk padded
        with `pad_value`, and n_chunks: each chunk a window the encoder was built for."""
        n_chunks = max(1, math.ceil(x.shape[1] / self.chunk))
        x = nn.functional.pad(x, (0, 0, 0, n_chunks * self.chunk - x.shape[1]), value=pad_value)
        return x.reshape(x.shape[0] * n_chunks, self.chunk, x.shape[2]), n_chunks

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's time steps (batch, steps, width) and each step's centre in samples."""
        if self.mel is not None:
            return self.clap_tokens(x)
        if self.fbank is None:
            hidden = self.encoder(input_values=x).last_hidden_state
            size, stride = receptive_field(self.encoder.config.conv_kernel,
                                           self.encoder.config.conv_stride)
            centres = (size - 1) / 2 + stride * torch.arange(hidden.shape[1], dtype=torch.float64)
            return hidden, centres
        config = self.encoder.config
        # padded as ASTFeatureExtractor pads: raw 0
        chunks, n_chunks = self.chunked(x, -self.fbank.mean / (2 * self.fbank.std))
        hidden = self.encoder(input_values=chunks).last_hidden_state[:, 2:]  # no cls, dist
        n_freq = (config.num_mel_bins - config.patch_size) // config.frequency_stride + 1
        n_time = (self.chunk - config.patch_size) // config.time_stride + 1
        hidden = hidden.reshape(x.shape[0], n_chunks, n_freq, n_time, -1).mean(dim=2)
        hidden = hidden.reshape(x.shape[0], n_chunks * n_time, -1)
        # patch j of chunk c spans fbank frames c * chunk + j * time_stride + [0, patch_size)
        start = (torch.arange(n_chunks, dtype=torch.float64)[:, None] * self.chunk
                 + torch.arange(n_time, dtype=torch.float64)[None] * config.time_stride)
        centres = ((start.flatten() + (config.patch_size - 1) / 2) * FBANK_HOP
                   + (FBANK_WIN - 1) / 2)  # fbank frame k is centred at 160 k + 199.5
        return hidden, centres

    def clap_tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """CLAP's time steps: each chunk of `chunk` frames (the last padded with silence)
        becomes the Swin's image; its output (batch, width, freq, steps) is averaged over
        frequency, and step j covers the chunk's frames j * chunk / steps onwards."""
        chunks, n_chunks = self.chunked(x, DB_FLOOR)
        hidden = self.encoder(input_features=chunks[:, None]).last_hidden_state.mean(dim=2)
        steps = hidden.shape[-1]
        hidden = hidden.transpose(1, 2).reshape(x.shape[0], n_chunks * steps, -1)
        span = self.chunk / steps
        centres = (torch.arange(n_chunks * steps, dtype=torch.float64) * span
                   + (span - 1) / 2) * self.mel.hop_length
        return hidden, centres

    def forward(self, wave: torch.Tensor,
                mixup: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """`mixup` = (permutation, weights) mixes the batch at the encoder's input."""
        x = self.front_end(wave)
        if mixup is not None:
            x = mix(x, *mixup)
        hidden, centres = self.tokens(x)
        feats = hidden.transpose(1, 2)  # (batch, width, steps)
        clip, frame = self.head(feats)
        index = nearest_tokens(wave.shape[1] // self.hop_length + 1, self.hop_length, centres)
        out = {"clipwise_output": clip, "framewise_output": frame[:, index.to(frame.device)]}
        if self.embed is not None and self.training:
            out["embedding"] = self.embed(feats.mean(dim=2))
        return out


# preprocessor_config.json's keys for CLAP's log-mel -> ClapMel's arguments
CLAP_MEL = {"sampling_rate": "sample_rate", "fft_window_size": "n_fft",
            "hop_length": "hop_length", "frequency_min": "fmin", "frequency_max": "fmax"}
CLAP_DEFAULTS = {"sample_rate": 48000, "n_fft": 1024, "hop_length": 480, "fmin": 50.0,
                 "fmax": 14000.0}  # laion's CLAP checkpoints'


def clap_mel_settings(found: dict) -> dict:
    return {arg: found.get(key, CLAP_DEFAULTS[arg]) for key, arg in CLAP_MEL.items()}


def preprocessor_settings(pretrained_path: str | None) -> dict:
    """What a checkpoint's preprocessor_config.json states of its input (AST's mean and std,
    a waveform encoder's do_normalize, CLAP's STFT and mel range), where the folder has one."""
    if not pretrained_path or not (Path(pretrained_path) / "preprocessor_config.json").is_file():
        return {}
    found = json.loads((Path(pretrained_path) / "preprocessor_config.json").read_text())
    return {k: found[k] for k in ("mean", "std", "do_normalize", *CLAP_MEL) if k in found}


def build_hf(cfg, n_classes: int, path: str | None, embed_dim: int = 0) -> HfSedModel:
    """The model of an `hf_*` config: weights from `path` (a folder), else from `hf_config`.
    AST built from its config covers the training crop in one chunk unless told otherwise."""
    overrides = dict(cfg.hf_config or {})
    if cfg.backbone == "hf_ast" and not path:
        overrides.setdefault("num_mel_bins", cfg.mel_bins)
        overrides.setdefault("max_length", KaldiFbank.frames(int(cfg.duration * SAMPLE_RATE)))
    settings = preprocessor_settings(path)
    if settings.get("sampling_rate", cfg.sample_rate) != cfg.sample_rate:
        raise SystemExit(f"pretrained_path {path} reads {settings['sampling_rate']}-Hz audio "
                         f"(preprocessor_config.json); sample_rate is {cfg.sample_rate}")
    encoder = build_encoder(cfg.backbone, path, overrides)
    return HfSedModel(cfg.backbone, encoder, n_classes, cfg.hop_length, cfg.head_hidden,
                      cfg.dropout, cfg.pooling, embed_dim, settings)
