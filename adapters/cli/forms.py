"""``lienthong form 04|05 CODE``: a dossier's form 04 (apology and new return date) or form 05
(process control sheet) as printable HTML, or as PDF into a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from adapters.bootstrap import bootstrap
from adapters.cli.common import err, fail
from adapters.forms import FormNumber, FormOutput, printable
from workflow.errors import WorkflowError


def form(
    number: Annotated[FormNumber, typer.Argument(help="04 (apology) or 05 (control sheet)")],
    code: Annotated[str, typer.Argument(help="the dossier code")],
    output: Annotated[FormOutput, typer.Option("--format", help="html or pdf")] = FormOutput.HTML,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write to this file (needed for pdf)", dir_okay=False),
    ] = None,
) -> None:
    """Print form 04 or 05 of a dossier, in Vietnamese, from the store: HTML to standard output
    (or --out FILE), PDF into --out FILE."""
    if output is FormOutput.PDF and out is None:
        raise fail(ValueError("a PDF needs a file: add --out FILE (for example --out form.pdf)"))
    try:
        app = bootstrap()
        with app.store.reading() as uow:
            dossier = uow.dossiers.get(code)
        printed = printable(app, dossier, number, output, app.engine.clock.now())
    except WorkflowError as error:
        raise fail(error) from None
    if out is None:
        sys.stdout.write(printed.content.decode())
        return
    try:
        out.write_bytes(printed.content)
    except OSError as error:
        raise fail(OSError(f"cannot write {out}: {error.strerror}; choose another file")) from None
    err.print(f"form {number.value} of dossier {code} written to {out}", highlight=False)
