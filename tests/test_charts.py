"""The one chart code path (app/charts.py): SVG without script, Chinese labels kept as
text, a period without data drawn as a gap (not as zero), and the same SVG in a PDF."""

from lxml import etree

from app import charts

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = etree.fromstring(svg.encode())
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_trend_is_a_picture_with_chinese_labels_and_gaps():
    svg = charts.trend(
        "首次解决率",
        ["2026-01", "2026-02", "2026-03"],
        [("实际值", [80.0, None, 90.0])],
        target=("目标", [85.0, 85.0, 85.0]),
        unit="%",
    )
    texts = _texts(svg)
    assert "首次解决率" in texts
    assert "实际值" in texts and "目标" in texts
    assert "2026-02" in texts  # labels are not truncated
    assert "<script" not in svg
    root = etree.fromstring(svg.encode())
    values = [el for el in root.iter() if (el.get("class") or "").startswith("dots")]
    assert len(values) == 2  # the missing February is a gap, not a dot at zero


def test_no_data_says_so():
    svg = charts.trend("满意度", ["2026-01"], [("实际值", [None])], no_data="无数据")
    assert "无数据" in _texts(svg)


def test_bars_print_their_values_and_identical_data_is_drawn_once():
    first = charts.bars("按类别", ["服务态度", "等候时间"], [("件数", [3, 1])])
    assert {"服务态度", "等候时间", "3", "1"} <= set(_texts(first))
    assert charts.bars("按类别", ["服务态度", "等候时间"], [("件数", [3, 1])]) is first


def test_the_same_svg_draws_in_a_pdf():
    import io

    from pypdf import PdfReader
    from weasyprint import HTML

    svg = charts.bars("按渠道", ["热线", "柜台"], [("件数", [2, 5])])
    pdf = HTML(string=f"<html><body>{svg}</body></html>").write_pdf()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "按渠道" in text and "热线" in text


def test_two_charts_of_one_page_share_no_id():
    """A page or PDF holds many charts: no element id may repeat between two of them
    (pygal's legend ids did: WeasyPrint warned "Anchor defined twice")."""
    first = charts.trend("甲", ["2026-01", "2026-02"], [("值", [1.0, 2.0]), ("目标", [2.0, 2.0])])
    second = charts.trend("乙", ["2026-01", "2026-02"], [("值", [3.0, 1.0]), ("目标", [2.0, 2.0])])
    ids = [
        [e.get("id") for e in etree.fromstring(str(svg).encode()).iter() if e.get("id")]
        for svg in (first, second)
    ]
    assert ids[0] and ids[1]
    assert not set(ids[0]) & set(ids[1]), set(ids[0]) & set(ids[1])
