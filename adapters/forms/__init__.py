"""Forms 04 (apology and new return date) and 05 (process control sheet) of one stored dossier,
as printable HTML or PDF: the content is the core's (:mod:`workflow.forms`), the layout is here.
The HTTP routes and the ``lienthong form`` command both print through :func:`printable`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from adapters.bootstrap import App
from adapters.forms.render import Form, PdfUnavailable, to_html, to_pdf
from workflow.dossier import Dossier
from workflow.forms import apology_form, control_sheet_form

__all__ = [
    "FormNumber",
    "FormOutput",
    "PdfUnavailable",
    "Printed",
    "form_of",
    "printable",
    "to_html",
    "to_pdf",
]


class FormNumber(StrEnum):
    """The forms of Circular 01/2018/TT-VPCP that can be printed."""

    APOLOGY = "04"
    CONTROL_SHEET = "05"


class FormOutput(StrEnum):
    """What a form is printed as: an HTML page (print it from a browser) or an A4 PDF."""

    HTML = "html"
    PDF = "pdf"


@dataclass(frozen=True, slots=True)
class Printed:
    """A printed form: its bytes, their media type, and a file name for them."""

    content: bytes
    media_type: str
    filename: str


def form_of(app: App, dossier: Dossier, number: FormNumber, at: dt.datetime) -> Form:
    """The content of form ``number`` for ``dossier`` as of ``at``; raises
    :class:`~workflow.forms.ApologyNotOwed` for a form 04 no apology calls for."""
    definition = app.catalogue.get(dossier.procedure_code, version=dossier.procedure_version)
    build = apology_form if number is FormNumber.APOLOGY else control_sheet_form
    return build(dossier, definition, app.calendar, app.catalogue.agencies, at, app.engine.policy)


def printable(
    app: App, dossier: Dossier, number: FormNumber, output: FormOutput, at: dt.datetime
) -> Printed:
    """Form ``number`` of ``dossier`` as UTF-8 HTML or as PDF."""
    html = to_html(form_of(app, dossier, number, at))
    name = "".join(c if (c.isascii() and c.isalnum()) or c in ".-" else "_" for c in dossier.code)
    if output is FormOutput.PDF:
        return Printed(to_pdf(html), "application/pdf", f"mau-{number.value}-{name}.pdf")
    return Printed(html.encode(), "text/html; charset=utf-8", f"mau-{number.value}-{name}.html")
