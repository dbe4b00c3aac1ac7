"""Prompts for calls: offline text-to-speech and audio files, as 8 kHz mono int16 PCM.

Everything here returns samples ready for :meth:`dialer.rtp.session.RtpSession.play`, cached on
disk so that a call never waits for synthesis or decoding once it is answered.

    renderer = PromptRenderer()                       # pyttsx3 on eSpeak NG, ~/.cache/callbot
    await renderer.prerender([Prompt("Xin chào", "vi")])
    pcm = await renderer.render("Xin chào", "vi")
    beep = await AudioFileCache().load(stock_sound("beep"))
"""

from callbot.prompts.audio_files import AudioFileCache, convert_audio_file, default_audio_cache_dir
from callbot.prompts.engines import (
    DEFAULT_RATE,
    MAX_RATE,
    MIN_RATE,
    EspeakNgEngine,
    Pyttsx3Engine,
    TtsEngine,
)
from callbot.prompts.errors import AudioFileError, PromptError, TtsError
from callbot.prompts.stock import SOUNDS_DIR, stock_sound
from callbot.prompts.tts import Prompt, PromptRenderer, RenderStats, default_prompt_cache_dir

__all__ = [
    "DEFAULT_RATE",
    "MAX_RATE",
    "MIN_RATE",
    "SOUNDS_DIR",
    "AudioFileCache",
    "AudioFileError",
    "EspeakNgEngine",
    "Prompt",
    "PromptError",
    "PromptRenderer",
    "Pyttsx3Engine",
    "RenderStats",
    "TtsEngine",
    "TtsError",
    "convert_audio_file",
    "default_audio_cache_dir",
    "default_prompt_cache_dir",
    "stock_sound",
]
