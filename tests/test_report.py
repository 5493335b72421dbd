"""The HTML report, rendered in a real headless Chromium (Debian's chromium + chromium-driver, driven by selenium):
no script errors, every gene and the first sites on the rendered page, the filters, hover, zoom and sorting working;
and, without a browser, that the page fetches nothing and carries the TSV and BED it offers for download.

In CI (``MOTIFSCAN_REQUIRE_CHROMIUM=1``, set by .ci/run after installing chromium) a missing browser fails the tests;
elsewhere they are skipped.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import motifscan
from motifscan.cli import cli

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DEMO_GENES = ["FOXC1", "FOXQ1", "FOXF2", "GTPBP6", "PPP2R3B"]


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def demo_result():
    """A demo scan with enough sites (p <= 1e-3) to fill more than the first 15 rows."""
    return motifscan.scan_genes(DEMO_GENES, genome="demo", p_threshold=1e-3)


@pytest.fixture(scope="module")
def demo_page(demo_result, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "demo.html"
    path.write_text(demo_result.to_html(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, with the flags that work on this machine (no network, no sandbox as
    root) and the browser console log enabled."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("MOTIFSCAN_REQUIRE_CHROMIUM"):
            pytest.fail("chromium and chromium-driver are required (MOTIFSCAN_REQUIRE_CHROMIUM is set)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="motifscan-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1300,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, path: Path) -> list[dict]:
    """Load the page; the browser's console messages logged while it loaded and ran its script."""
    driver.get(path.resolve().as_uri())
    assert driver.find_element("tag name", "body").get_attribute("data-report-ready") == "1"
    return driver.get_log("browser")


def errors_in(log: list[dict]) -> list[dict]:
    return [entry for entry in log if entry["level"] in ("SEVERE", "ERROR")]


class _Text(HTMLParser):
    """The page's text outside <script> and <style> (what a reader without scripts sees), and every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._skip += tag in ("script", "style")
        self.links += [value for name, value in attrs if name in ("src", "href") and value]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def first_rows(result, n: int = 15) -> list[list[str]]:
    """The first n site rows of the TSV, as fields (the oracle: the TSV the same result writes)."""
    lines = [line for line in result.to_tsv().splitlines() if not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:n + 1]]


# ------------------------------------------------------------------------------------------------ without a browser


def test_page_is_self_contained_and_carries_its_downloads(demo_result) -> None:
    page = demo_result.to_html()
    parser = _Text()
    parser.feed(page)
    assert "link" not in parser.tags and "img" not in parser.tags and "iframe" not in parser.tags
    assert all(link.startswith(("#", "data:")) for link in parser.links), parser.links
    assert not re.search(r"\bsrc=|@import|url\((?!#)", page)
    downloads = dict(re.findall(r'download="([^"]+)" href="data:[^;]+;charset=utf-8;base64,([^"]+)"', page))
    assert base64.b64decode(downloads["motifscan_hits.tsv"]).decode() == demo_result.to_tsv()
    assert base64.b64decode(downloads["motifscan_hits.bed"]).decode() == demo_result.to_bed()
    text = " ".join(parser.text)
    for gene in DEMO_GENES:  # without any script: every gene, the first sites' letters as plain text
        assert gene in text
    for row in first_rows(demo_result):
        assert row["matched_sequence"] in text
    assert "JASPAR2026" in text and "pseudocount" in text  # the provenance


def test_json_block_cannot_end_the_script() -> None:
    from motifscan.report import _json_block

    assert "</" not in _json_block({"name": "x</script><script>alert(1)</script>"})


# ------------------------------------------------------------------------------------------------ in Chromium


def test_rendered_page_names_every_gene_and_shows_the_first_sites(browser, demo_result, demo_page,
                                                                  tmp_path) -> None:
    log = open_page(browser, demo_page)
    assert not errors_in(log), log
    body = browser.find_element("tag name", "body").text
    for gene in DEMO_GENES:
        assert gene in body
    rows = browser.find_elements("css selector", "#site-table tbody tr")
    assert len(rows) >= 15
    shown = [[cell.text for cell in row.find_elements("tag name", "td")] for row in rows[:15]]
    for expected, cells in zip(first_rows(demo_result), shown):
        assert cells[1] == expected["motif_id"] and cells[5] == expected["start"]
        assert cells[-1] == expected["matched_sequence"]
    sites = browser.find_elements("css selector", "#map-box path.site")
    assert len(sites) > 0
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 20_000


def test_filters_hover_zoom_and_sorting(browser, demo_result, demo_page) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    open_page(browser, demo_page)
    table = demo_result.hits
    ids = list(table.motifs.ids)
    counts = {motif_id: int((table.motif == ids.index(motif_id)).sum()) for motif_id in ids}
    chosen = max(counts, key=counts.get)
    Select(browser.find_element("id", "f-motif")).select_by_value(str(ids.index(chosen)))
    marks = browser.find_elements("css selector", "#map-box path.site")
    assert len(marks) == counts[chosen]  # five promoters: one map page holds them all
    legend = browser.find_element("id", "legend").text
    assert chosen in legend and len(legend.splitlines()) == 1
    assert browser.find_element("id", "t-count").text.startswith(f"{counts[chosen]} of {len(table)}")
    shown_logos = [f for f in browser.find_elements("css selector", ".logo-box") if f.is_displayed()]
    assert [f.get_attribute("data-motif") for f in shown_logos] == [str(ids.index(chosen))]

    ActionChains(browser).move_to_element(marks[0]).perform()
    tip = browser.find_element("id", "tooltip")
    assert tip.is_displayed() and chosen in tip.text and "p " in tip.text
    sequence = tip.find_element("css selector", ".seq").text
    assert sequence in set(table.matched_sequences())

    Select(browser.find_element("id", "f-motif")).select_by_value("")
    q_box = browser.find_element("id", "f-q")
    q_box.send_keys("0.5")
    kept = int((table.q_value <= 0.5).sum())
    assert browser.find_element("id", "t-count").text.startswith(f"{kept} of")
    q_box.clear()
    q_box.send_keys("1")

    def ticks() -> list[str]:
        return [t.text for t in browser.find_elements("css selector", "#map-box text.axis")]

    before = ticks()
    browser.find_element("id", "zoom-in").click()
    browser.find_element("id", "zoom-in").click()
    assert ticks() != before
    browser.find_element("id", "zoom-reset").click()
    assert ticks() == before

    browser.find_element("css selector", '#site-table th[data-key="p"]').click()
    first_p = browser.find_element("css selector", "#site-table tbody tr td:nth-child(11)").text
    assert float(first_p) == pytest.approx(float(f"{table.p_value.min():.3g}"))
    search = browser.find_element("id", "t-search")
    search.send_keys("FOXQ1")
    genes = {row.find_element("tag name", "td").text
             for row in browser.find_elements("css selector", "#site-table tbody tr")}
    assert genes == {"FOXQ1"}
    assert not errors_in(browser.get_log("browser"))


def test_readable_with_all_core_vertebrate_matrices(browser, tmp_path) -> None:
    """1019 matrices: the map draws the top 12 motifs by p, the family filter narrows them, logos are capped."""
    from selenium.webdriver.support.ui import Select

    result = motifscan.scan_fasta("examples/promoters.fa" if Path("examples/promoters.fa").exists()
                                  else Path(__file__).parents[1] / "examples" / "promoters.fa",
                                  motifs=motifscan.select_motifs(collections=["CORE"], tax_groups=["vertebrates"]))
    assert len(result.motifs) > 500
    page = tmp_path / "core.html"
    page.write_text(result.to_html(), encoding="utf-8")
    log = open_page(browser, page)
    assert not errors_in(log), log
    legend = browser.find_elements("css selector", "#legend > span")
    assert len(legend) == 12
    assert "choose a family" in browser.find_element("id", "map-note").text
    family = Select(browser.find_element("id", "f-family"))
    assert len(family.options) > 5
    family.select_by_index(1)
    name = family.first_selected_option.get_attribute("value")
    families = {m.id: m.family or m.tf_class for m in result.motifs}
    legend_ids = [item.text.split()[0] for item in browser.find_elements("css selector", "#legend > span")]
    assert legend_ids and all(families[i] == name for i in legend_ids)
    assert len(browser.find_elements("css selector", ".logo-box")) <= 60
    assert not errors_in(browser.get_log("browser"))


def test_cli_writes_html_for_scan_fasta_and_design(browser, tmp_path) -> None:
    runner = CliRunner()
    hits, page = tmp_path / "hits.tsv", tmp_path / "scan.html"
    result = runner.invoke(cli, ["scan", "--genome", "demo", "FOXC1", "FOXQ1", "-o", str(hits), "--html", str(page)])
    assert result.exit_code == 0, result.output
    fasta_page = tmp_path / "fasta.html"
    examples = Path(__file__).parents[1] / "examples" / "promoters.fa"
    result = runner.invoke(cli, ["fasta", str(examples), "-o", str(tmp_path / "f.tsv"), "--html", str(fasta_page)])
    assert result.exit_code == 0, result.output
    design_page = tmp_path / "design.html"
    result = runner.invoke(cli, ["design", str(hits), "--genome", "demo", "--top", "2", "-o",
                                 str(tmp_path / "design.tsv"), "--html", str(design_page)])
    assert result.exit_code == 0, result.output
    for path in (page, fasta_page):
        assert not errors_in(open_page(browser, path))
        assert "Promoter map" in browser.find_element("tag name", "body").text
    browser.get(design_page.resolve().as_uri())
    assert not errors_in(browser.get_log("browser"))
    body = browser.find_element("tag name", "body").text
    rows = [line.split("\t") for line in (tmp_path / "design.tsv").read_text().splitlines()
            if not line.startswith("#")]
    header = rows[0]
    for row in rows[1:]:
        values = dict(zip(header, row))
        for column in ("chip_left_primer", "chip_right_primer", "mutant_site", "mut_forward_primer"):
            assert values[column] and values[column] in body
    bad = runner.invoke(cli, ["scan", "--genome", "demo", "FOXC1", "-o", str(hits), "--html", str(hits)])
    assert bad.exit_code == 2 and "same file" in bad.output


def test_enrich_html(browser, tmp_path) -> None:
    """motifscan enrich --html: every query gene, every matrix row, sorting and the family filter, no script error."""
    runner = CliRunner()
    table, page = tmp_path / "enrich.tsv", tmp_path / "enrich.html"
    result = runner.invoke(cli, ["enrich", "--genome", "demo", "FOXC1", "FOXQ1", "FOXF2", "-o", str(table),
                                 "--html", str(page)])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in table.read_text().splitlines() if not line.startswith("#")]
    header, rows = lines[0], lines[1:]
    log = open_page(browser, page)
    assert not errors_in(log), log
    body = browser.find_element("tag name", "body").text
    assert all(gene in body for gene in ("FOXC1", "FOXQ1", "FOXF2"))
    shown = browser.find_elements("css selector", "#enrich-table tbody tr")
    assert [r.find_elements("tag name", "td")[1].text for r in shown] == [row[0] for row in rows]
    q_column = header.index("q_value") + 2  # 1-based, after the family column
    browser.find_element("css selector", '#enrich-table th[data-key="q_value"]').click()
    qs = [float(r.find_element("css selector", f"td:nth-child({q_column})").text)
          for r in browser.find_elements("css selector", "#enrich-table tbody tr")]
    assert qs == sorted(qs)
    from selenium.webdriver.support.ui import Select

    family = Select(browser.find_element("id", "e-family"))
    family.select_by_index(1)
    chosen = family.first_selected_option.get_attribute("value")
    visible = [r for r in browser.find_elements("css selector", "#enrich-table tbody tr") if r.is_displayed()]
    assert visible and all(r.find_element("tag name", "td").text == chosen for r in visible)
    assert not errors_in(browser.get_log("browser"))


def test_variants_html(browser, tmp_path) -> None:
    """motifscan variants --html: every gene and variant row readable as text, the effect filter and sorting work,
    no script error, and the downloads are the TSV and BED written beside it."""
    repo = Path(__file__).resolve().parent.parent
    table, bed, page = tmp_path / "v.tsv", tmp_path / "v.bed", tmp_path / "v.html"
    result = CliRunner().invoke(cli, ["variants", str(repo / "examples" / "demo_variants.vcf"), "FOXC1", "FOXQ1",
                                      "GTPBP6", "--genome", "demo", "-o", str(table), "--bed", str(bed),
                                      "--html", str(page)])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in table.read_text().splitlines() if not line.startswith("#")]
    header, rows = lines[0], lines[1:]
    assert rows, "the demo variants change some sites"
    text = page.read_text()
    parser = _Text()
    parser.feed(text)
    assert not [link for link in parser.links if not link.startswith(("data:", "#"))]  # nothing fetched
    found = re.findall(r'download="[^"]+" href="data:[^,]*;base64,([^"]+)" id="(download-\w+)"', text)
    downloads = {name: data for data, name in found}
    assert base64.b64decode(downloads["download-tsv"]).decode() == table.read_text()
    assert base64.b64decode(downloads["download-bed"]).decode() == bed.read_text()
    log = open_page(browser, page)
    assert not errors_in(log), log
    body = browser.find_element("tag name", "body").text
    assert all(gene in body for gene in ("FOXC1", "FOXQ1"))
    shown = browser.find_elements("css selector", "#variant-table tbody tr")
    cells = [[td.text for td in r.find_elements("tag name", "td")][1:] for r in shown]
    assert cells == rows  # every row, in the TSV's order, as plain text
    delta = header.index("score_delta") + 2
    browser.find_element("css selector", '#variant-table th[data-key="score_delta"]').click()
    values = [float(r.find_element("css selector", f"td:nth-child({delta})").text)
              for r in browser.find_elements("css selector", "#variant-table tbody tr")]
    assert values == sorted(values)
    from selenium.webdriver.support.ui import Select

    effect = Select(browser.find_element("id", "v-effect"))
    effect.select_by_index(1)
    chosen = effect.first_selected_option.get_attribute("value")
    visible = [r for r in browser.find_elements("css selector", "#variant-table tbody tr") if r.is_displayed()]
    column = header.index("effect") + 1
    assert visible and all(r.find_elements("tag name", "td")[column].text == chosen for r in visible)
    assert len(visible) == sum(row[header.index("effect")] == chosen for row in rows)
    assert not errors_in(browser.get_log("browser"))
