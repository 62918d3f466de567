"""Debian's Chromium for the tests that drive a real browser (never a browser download)."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium_path() -> str:
    """Its path; a missing Chromium fails under CI and skips, saying how to install it, else."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (Debian: apt-get install chromium; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found
