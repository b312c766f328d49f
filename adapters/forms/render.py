"""Forms as printable HTML (Jinja2 templates, autoescaped, print CSS for A4) and as PDF
(WeasyPrint, imported only when a PDF is asked for)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from workflow.errors import WorkflowError
from workflow.forms import (
    MOTTO,
    NATION,
    ApologyForm,
    ControlSheetForm,
    vn_day,
    vn_hours,
    vn_instant,
)

Form = ApologyForm | ControlSheetForm


class PdfUnavailable(WorkflowError):
    """WeasyPrint, or the system libraries it draws text with (Pango), cannot be loaded."""


def sentence(text: str) -> str:
    """``text`` stripped, ending with a full stop unless it already ends a sentence."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


@cache
def environment() -> Environment:
    """The templates of ``adapters/forms/templates``, every value escaped."""
    env = Environment(
        loader=PackageLoader("adapters.forms", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(instant=vn_instant, day=vn_day, hours=vn_hours, sentence=sentence)
    env.globals.update(NATION=NATION, MOTTO=MOTTO)
    return env


def to_html(form: Form) -> str:
    """The form as one self-contained HTML page in Vietnamese (no external resources)."""
    return environment().get_template(f"form_{form.NUMBER}.html").render(form=form)


def to_pdf(html: str) -> bytes:
    """An A4 PDF of a page made by :func:`to_html`. Raises :class:`PdfUnavailable` when
    WeasyPrint or its system libraries are missing."""
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: PLC0415 (only PDF needs it)
    except (ImportError, OSError) as error:
        raise PdfUnavailable(
            "PDF needs WeasyPrint and its system libraries (Pango, HarfBuzz, fontconfig), "
            f"which cannot be loaded here ({type(error).__name__}: {error}); install them "
            "as WeasyPrint's installation notes describe, or ask for the HTML and print it "
            "from a browser"
        ) from None
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
