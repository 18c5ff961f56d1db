"""Audio decoding, resampling and the int16 .npy cache.

Training reads a few seconds out of recordings that last minutes, so every file is decoded
and resampled once (`prepare.py`) into an int16 .npy that `np.load(mmap_mode="r")` opens
without reading it: a crop costs a seek, not a decode (docs/figures.md gives the measured figures).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

from atomic import atomic_path, write_npy

INT16_SCALE = 32767.0


class AudioError(ValueError):
    """A recording that cannot be decoded; the message says why, for the user's list."""


@dataclass
class AudioReport:
    """What `source_pieces` had to repair in one file, for prepare.py's list."""

    non_finite: int = 0  # NaN/inf samples of the source, set to 0 before resampling
    seconds: float = 0.0  # length at the cache's sample rate
    peak: float = 0.0  # largest absolute sample: 0 = silent


def decode(path: str | Path, sample_rate: int) -> np.ndarray:
    """Any mp3/ogg/flac/wav, any rate and channel count -> mono float32 at `sample_rate`.

    Resampling uses soxr (the high-quality resampler librosa uses). Non-finite samples
    become 0, so one broken file cannot poison a batch. Raises AudioError when the file
    cannot be decoded (missing, empty, not audio, truncated or corrupt) or holds no samples.
    """
    return np.concatenate(list(stream_wave(path, sample_rate)))


def cache_audio(src: str | Path, dst: str | Path, sample_rate: int) -> AudioReport:
    """Decode + resample `src` into the int16 cache `dst`, piece by piece: memory stays a few
    MB however long the recording (an hour at 32 kHz would be 460 MB as one float wave).

    The .npy header is written for zero samples, the data streamed after it, then the header
    rewritten with the real length (numpy pads it to a fixed size for this); all in a temporary
    file renamed onto `dst`, so an interrupted run leaves nothing a later run would trust.
    Raises AudioError for a file that cannot be decoded or holds no samples.
    """
    report = AudioReport()
    pieces = stream_wave(src, sample_rate, report=report)
    first = next(pieces)  # a file that cannot even be opened fails before anything is written
    with atomic_path(dst) as tmp, open(tmp, "wb") as f:
        header = _npy_header(0)
        f.write(header)
        n = 0
        for piece in chain([first], pieces):
            _to_int16(piece).tofile(f)
            n += len(piece)
            report.peak = max(report.peak, float(np.abs(piece).max(initial=0.0)))
        final = _npy_header(n)
        if len(final) != len(header):  # cannot happen with numpy's padding; never write garbage
            raise RuntimeError(f"npy header grew from {len(header)} to {len(final)} bytes")
        f.seek(0)
        f.write(final)
    report.seconds = n / sample_rate
    return report


def _npy_header(n: int) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(
        np.dtype(np.int16)), "fortran_order": False, "shape": (n,)})
    return buf.getvalue()


def _to_int16(wave: np.ndarray) -> np.ndarray:
    return np.clip(np.round(wave * INT16_SCALE), -32768, 32767).astype(np.int16)


def save_cached(path: str | Path, wave: np.ndarray) -> None:
    """Store a float wave in [-1, 1] as int16 .npy (half the bytes of float32)."""
    write_npy(path, _to_int16(wave))


def open_cached(path: str | Path) -> np.ndarray:
    """Memory-map a cached wave (int16); slice it, then call `to_float`."""
    return np.load(str(path), mmap_mode="r")


def to_float(ints: np.ndarray) -> np.ndarray:
    return np.asarray(ints, dtype=np.float32) / INT16_SCALE


def stream_wave(path: str | Path, sample_rate: int, chunk: int = 1 << 18,
                report: AudioReport | None = None) -> Iterator[np.ndarray]:
    """A recording as consecutive mono float32 pieces at `sample_rate` (about `chunk` samples of
    the source each), so that an hour-long file never sits whole in memory. Non-finite samples
    become 0. A file with a header and no samples raises AudioError("no audio samples") after
    its last (empty) piece: every reader treats it as unreadable, never as silence.

    A cached .npy is read with plain file reads (a memory map would keep every page it touched
    resident); a source file goes through `source_pieces`.
    """
    n = 0
    for piece in (_cached_pieces(path, chunk) if str(path).endswith(".npy")
                  else source_pieces(path, sample_rate, chunk, report)):
        n += len(piece)
        yield piece
    if n == 0:
        raise AudioError("no audio samples")


def _cached_pieces(path: str | Path, chunk: int) -> Iterator[np.ndarray]:
    ints = open_cached(path)
    with open(path, "rb") as f:
        f.seek(ints.offset)
        for _ in range(0, len(ints), chunk):
            yield to_float(np.fromfile(f, dtype=ints.dtype, count=chunk))


def source_pieces(path: str | Path, sample_rate: int, chunk: int = 1 << 18,
                  report: AudioReport | None = None) -> Iterator[np.ndarray]:
    """An audio file as mono float32 pieces at `sample_rate`.

    Non-finite samples become 0 before resampling (the filter would smear one NaN over its
    whole length), counted in `report`. A file libsndfile reads is decoded block by block
    through soxr's streaming resampler (the same output as resampling the whole wave at once);
    anything else (formats libsndfile refuses) is decoded whole through librosa/audioread.
    Every failure is an AudioError saying what is wrong: missing, empty, not audio, or decoding
    stopped part-way (truncated or corrupt). Truncation is found the same way for every codec:
    decoding fails, or yields fewer frames than the header promises (`_promised_frames`), or an
    Ogg file lacks its closing page (Vorbis and Opus state no length).
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError("file not found")
    if path.stat().st_size == 0:
        raise AudioError("empty file (0 bytes)")
    try:
        open(path, "rb").close()
    except OSError as e:
        raise AudioError(f"cannot open it ({e.strerror})") from None
    try:
        source = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError) as sf_error:
        wave, sr = _decode_other(path, sf_error)
        wave = _repair(wave, report)
        if sr != sample_rate and len(wave):
            wave = soxr.resample(wave, sr, sample_rate, quality="HQ")
        for start in range(0, len(wave), chunk):
            yield wave[start:start + chunk]
        return
    with source:
        rate = source.samplerate

        def stopped(frames: int, of: int | None, why: str) -> AudioError:
            total = f" of {of / rate:.1f} s" if of is not None else ""
            return AudioError(f"decoding stopped after {frames / rate:.1f} s{total}, truncated "
                              f"or corrupt ({why})")

        if source.format == "OGG" and not _ogg_closed(path):
            raise stopped(source.frames, None, "the Ogg stream ends without its last page")
        promised = _promised_frames(path, source)
        resampler = (soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
                     if rate != sample_rate else None)
        done = 0
        while True:
            try:
                data = source.read(chunk, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as e:
                raise stopped(done, source.frames, str(e)) from None
            done += len(data)
            last = len(data) < chunk
            if last and promised is not None and done < promised - SHORT_SLACK:
                raise stopped(done, promised, f"the {source.format} header promises {promised} "
                                              f"frames, {done} decoded")
            piece = _repair(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0], report)
            if resampler is not None:
                piece = resampler.resample_chunk(np.ascontiguousarray(piece), last=last)
            yield piece
            if last:
                return


SHORT_SLACK = 1152  # frames a decoder may drop at the end (one MP3 frame), not a truncation


def _promised_frames(path: Path, source: sf.SoundFile) -> int | None:
    """The length the file's header states, where it states one exactly: FLAC's STREAMINFO,
    a WAV data chunk's size (libsndfile reports only what the file holds), an MP3's Xing/Info
    header. None otherwise: an MP3 without that header is sized from its bitrate, a guess (a
    real 26-s Cornell test clip decodes 0.2 s short of it), and Ogg states no length."""
    if source.format == "FLAC":
        return source.frames or None  # 0: the encoder did not know the length
    if source.format in ("WAV", "WAVEX"):
        return _wav_frames(path)
    if source.format == "MP3" and _mp3_counted(path):
        return source.frames
    return None


def _wav_frames(path: Path) -> int | None:
    """Frames a RIFF/WAVE data chunk declares; None for a streaming writer's placeholder (0 or
    0xFFFFFFFF: a recorder that never closed the file) or a layout not walked here."""
    with open(path, "rb") as f:
        if (head := f.read(12))[:4] != b"RIFF" or head[8:] != b"WAVE":
            return None
        frame_bytes = 0
        while len(chunk := f.read(8)) == 8:
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"data":
                return size // frame_bytes if frame_bytes and size not in (0, 0xFFFFFFFF) else None
            if kind == b"fmt ":
                frame_bytes = int.from_bytes(f.read(size)[12:14], "little")  # nBlockAlign
            else:
                f.seek(size, 1)
            f.seek(size % 2, 1)  # chunks are padded to an even size
    return None


def _mp3_counted(path: Path) -> bool:
    """Whether an MP3's first frame carries a Xing/Info header (LAME and most encoders write
    one), whose frame count libsndfile reports exactly."""
    with open(path, "rb") as f:
        head = f.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:  # skip the ID3v2 tag (syncsafe size)
            start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
            start += 10 if head[5] & 0x10 else 0  # footer
        f.seek(start)
        data = f.read(4096)
    sync = re.search(rb"\xff[\xe0-\xff]", data)
    return sync is not None and any(tag in data[sync.start():sync.start() + 200]
                                    for tag in (b"Xing", b"Info"))


def _ogg_closed(path: Path) -> bool:
    """Whether an Ogg file ends as a whole stream does: with a complete page flagged
    end-of-stream. From each capture pattern in the last 128 KiB (a page is at most 65,307
    bytes), pages are followed by their lengths; the chain that lands exactly on the end of the
    file tells whether its last page closes the stream."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - (1 << 17)))
        tail = f.read()
    for match in re.finditer(b"OggS", tail):
        at = match.start()
        while at + 27 <= len(tail) and tail[at:at + 4] == b"OggS" and tail[at + 4] == 0:
            lacing = tail[at + 27:at + 27 + tail[at + 26]]
            end = at + 27 + len(lacing) + sum(lacing)
            if len(lacing) < tail[at + 26] or end > len(tail):
                break  # this page runs past the end of the file
            if end == len(tail):
                return bool(tail[at + 5] & 0x04)
            at = end
    return False


def _repair(piece: np.ndarray, report: AudioReport | None) -> np.ndarray:
    bad = ~np.isfinite(piece)
    if not bad.any():
        return piece
    if report is not None:
        report.non_finite += int(bad.sum())
    return np.where(bad, np.float32(0.0), piece).astype(np.float32)


def _decode_other(path: Path, sf_error: Exception) -> tuple[np.ndarray, int]:
    """A file libsndfile refused, through librosa's audioread (ffmpeg) path, at its own rate."""
    import warnings

    import librosa

    try:
        with warnings.catch_warnings():  # librosa warns that it falls back to audioread
            warnings.simplefilter("ignore")
            wave, sr = librosa.load(str(path), sr=None, mono=True)
    except Exception as e:  # noqa: BLE001 - audioread raises many types; the message tells
        why = f"{type(e).__name__}: {e}".rstrip(": ")
        raise AudioError(f"not audio that libsndfile or audioread can decode ({sf_error}; "
                         f"{why})") from None
    return np.asarray(wave, dtype=np.float32), int(sr)


def load_wave(path: str | Path, sample_rate: int) -> np.ndarray:
    """A whole recording as float32: from the cache when `path` is a .npy, else decoded."""
    if str(path).endswith(".npy"):
        return to_float(open_cached(path))
    return decode(path, sample_rate)
