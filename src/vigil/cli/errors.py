"""Where exceptions become what a user sees: one line, never a raw trace."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import typer

from vigil.errors import VigilError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _log_dir() -> Path:
    configured = os.environ.get("VIGIL_LOG_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "vigil"


def log_trace(exc: BaseException) -> Path:
    """Write the full trace where a developer can find it; return that path."""
    text = "".join(traceback.format_exception(exc))
    name = f"error-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    for directory in (_log_dir(), Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / name
            path.write_text(text)
            return path
        except OSError:
            continue
    return Path("<unwritable>")


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def fail(message: str) -> None:
    print(f"vigil: error: {_one_line(message)}", file=sys.stderr)


def run_guarded(command: Any, argv: list[str] | None) -> int:
    try:
        result = command.main(args=argv, prog_name="vigil", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        fail("aborted")
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:
        help_ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and help_ctx is not None:
            print(help_ctx.get_help(), file=sys.stderr)
        else:
            fail(exc.format_message() if hasattr(exc, "format_message") else str(exc))
        return EXIT_BAD_INPUT
    except VigilError as exc:
        fail(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        path = log_trace(exc)
        fail(f"internal error ({type(exc).__name__}: {exc}); full trace in {path}")
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK
