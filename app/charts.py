"""Charts as server-side SVG: one code path for the screen and the PDF.

Every chart of qdms (KPI trends, complaint and finding counts, the management review's
figures) is drawn here with pygal: a page shows the SVG as an image (``image``), a PDF
embeds it inline; no chart JavaScript in the browser, and WeasyPrint draws the same SVG
(its text in the Noto CJK font the PDFs use, so Chinese labels render). Charts take plain data and
already-translated labels; they know no feature.

Rendering costs about 6 ms per chart, so a page of 40 trend charts stays well within its
budget; the SVG of identical data is cached (an LRU keyed by the arguments).
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Sequence
from functools import lru_cache

import pygal
from markupsafe import Markup, escape
from pygal.style import Style

# pygal appends a ``sys.meta_path`` finder for its map plugins (pygal.maps.*, unused
# here) that has only the old ``find_module``: every later import anywhere then warns
# (ImportWarning). qdms draws no maps, so the finder goes.
sys.meta_path[:] = [f for f in sys.meta_path if type(f) is not pygal.PluginImportFixer]

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"
VALUE = "#0d6efd"
TARGET = "#198754"
WARNING = "#fd7e14"
PALETTE = (VALUE, "#6f42c1", "#20c997", "#dc3545", "#ffc107", "#0dcaf0", "#6c757d", "#d63384")

_STYLE = dict(
    font_family=FONT,
    background="white",
    plot_background="white",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#adb5bd",
    colors=PALETTE,
    title_font_size=15,
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    value_font_size=11,
    no_data_font_size=14,
)

Series = tuple[str, tuple[float | None, ...]]


def _common(title: str, no_data: str, width: int, height: int, colors=PALETTE) -> dict:
    return {
        "title": title or None,
        "width": width,
        "height": height,
        "style": Style(**{**_STYLE, "colors": tuple(colors)}),
        "js": [],  # no script: the SVG is a picture, on screen and in the PDF
        "disable_xml_declaration": True,
        "explicit_size": False,
        "no_data_text": no_data,
        "truncate_label": -1,
        "truncate_legend": -1,
        "legend_at_bottom": True,
        "margin": 8,
        # at most 8 graduations: pygal's 16 crowd a 280-pixel chart's axis (4.5, 4.4, …)
        "max_scale": 8,
    }


# pygal writes its configuration as a script even with ``js=[]``, and a hidden tooltip
# (<desc>) for every value: a picture needs neither (the pages' Content-Security-Policy
# would refuse the script, and WeasyPrint spends most of a chart's time laying out the
# tooltips: a 40-chart report ×3). Nor the legend's ids for the script, the same in
# every chart ("activate-serie-0"…), which a PDF of several charts would hold twice.
_UNSEEN = re.compile(r'<script\b.*?</script>|<desc\b.*?</desc>| id="activate-serie-\d+"', re.S)


def _svg(chart) -> Markup:
    # pygal's own output from numbers and already-escaped labels, hence Markup
    return Markup(_UNSEEN.sub("", chart.render(is_unicode=True)))  # noqa: S704


def image(svg: str, title: str) -> Markup:
    """A chart as an image for a page: the pages' Content-Security-Policy (``style-src
    'self'``) refuses the styles pygal writes inside an inline SVG, not those of an image
    (``img-src data:``). The PDFs embed the same SVG inline."""
    data = base64.b64encode(str(svg).encode("utf-8")).decode("ascii")
    return Markup(  # noqa: S704 - base64 and an escaped title
        f'<img class="img-fluid chart-img" alt="{escape(title)}" '
        f'src="data:image/svg+xml;base64,{data}">'
    )


@lru_cache(maxsize=512)
def _trend(
    title: str,
    labels: tuple[str, ...],
    series: tuple[Series, ...],
    target: tuple[str, tuple[float | None, ...]] | None,
    warning: tuple[str, tuple[float | None, ...]] | None,
    no_data: str,
    width: int,
    height: int,
    unit: str,
) -> Markup:
    # the target and warning lines keep their colours whatever the number of series
    colors = (
        PALETTE[: len(series)] + ((TARGET,) if target else ()) + ((WARNING,) if warning else ())
    )
    chart = pygal.Line(
        **_common(title, no_data, width, height, colors),
        x_label_rotation=30 if len(labels) > 8 else 0,
        show_minor_x_labels=True,
        allow_interruptions=True,
        dots_size=3,
        print_values=False,
        value_formatter=lambda v: f"{v:g}{unit}",
    )
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    if target is not None:
        chart.add(target[0], list(target[1]), stroke_style={"dasharray": "6,4"}, show_dots=False)
    if warning is not None:
        chart.add(warning[0], list(warning[1]), stroke_style={"dasharray": "2,4"}, show_dots=False)
    return _svg(chart)


def trend(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    target: tuple[str, Sequence[float | None]] | None = None,
    warning: tuple[str, Sequence[float | None]] | None = None,
    no_data: str = "—",
    unit: str = "",
    width: int = 640,
    height: int = 280,
) -> Markup:
    """A line chart over periods: one line per series (``None`` leaves a gap: a period
    without data is not drawn as zero), with optional dashed target and warning lines."""
    return _trend(
        title,
        tuple(labels),
        tuple((name, tuple(values)) for name, values in series),
        (target[0], tuple(target[1])) if target else None,
        (warning[0], tuple(warning[1])) if warning else None,
        no_data,
        width,
        height,
        unit,
    )


@lru_cache(maxsize=512)
def _bars(
    title: str,
    labels: tuple[str, ...],
    series: tuple[Series, ...],
    horizontal: bool,
    stacked: bool,
    no_data: str,
    width: int,
    height: int,
) -> Markup:
    kind = {
        (False, False): pygal.Bar,
        (True, False): pygal.HorizontalBar,
        (False, True): pygal.StackedBar,
        (True, True): pygal.HorizontalStackedBar,
    }[(horizontal, stacked)]
    chart = kind(
        **_common(title, no_data, width, height),
        x_label_rotation=0 if horizontal or len(labels) <= 6 else 30,
        show_legend=len(series) > 1,
        print_values=True,
        value_formatter=lambda v: f"{v:g}",
    )
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart)


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    horizontal: bool = False,
    stacked: bool = False,
    no_data: str = "—",
    width: int = 640,
    height: int = 280,
) -> Markup:
    """A bar chart: one group per label, one bar per series (a single series has no legend)."""
    return _bars(
        title,
        tuple(labels),
        tuple((name, tuple(values)) for name, values in series),
        horizontal,
        stacked,
        no_data,
        width,
        height,
    )
