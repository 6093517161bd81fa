"""One report over every analysis of a budget: `index.md`, and `index.html` with the figures inline.

The HTML embeds each PNG as a data URI and carries its own CSS, so it opens from a copied folder or an
e-mail attachment with no network and no sibling files. The Markdown links the figures relatively.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from semiemo.analysis.reproduce import REPORT

OUTCOME_LABEL = {"reproduced": "reproduced", "partly": "partly", "not": "not reproduced",
                 "not tested": "not tested", "undetermined": "undetermined", "": "not run"}

_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
code { background: #f5f5f5; padding: 0 3px; }
h2 { border-top: 2px solid #ddd; padding-top: 0.6em; margin-top: 2em; }
"""


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "/").replace("\n", " ")


def fmt_wall(seconds: Any) -> str:
    if seconds is None or seconds != seconds:
        return "—"
    s = float(seconds)
    return f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


def _outcome(st: dict[str, Any]) -> str:
    if st.get("status") == "done":
        return OUTCOME_LABEL.get(str(st.get("outcome", "")), str(st.get("outcome", "")))
    if st.get("status") == "error":
        return "not run (failed)"
    return "not run"


def _embedded_report(folder: Path, name: str) -> list[str]:
    """The analysis's own report.md, headings pushed two levels down, links made relative to the index."""
    path = folder / REPORT
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("# "):       # its title: the index gives its own
            continue
        if line.startswith("#"):
            line = "##" + line
        line = re.sub(r"\]\((?!https?:|/|#)([^)]+)\)", lambda m: f"]({name}/{m.group(1)})", line)
        out.append(line)
    return out


def summary_table(statuses: list[dict[str, Any]]) -> list[str]:
    lines = ["| analysis | paper source | outcome | why | seeds | budget | corpus | wall |",
             "|---|---|---|---|---|---|---|---|"]
    for st in statuses:
        lines.append("| " + " | ".join([
            f"[{st['name']}](#{st['name'].lower()})", _cell(st.get("paper")), f"**{_outcome(st)}**",
            _cell(st.get("why") or st.get("verdict") or ""), _cell(st.get("seeds", "—")), _cell(st.get("budget")),
            f"`{_cell(st.get('corpus', ''))[:60]}`", fmt_wall(st.get("wall_s"))]) + " |")
    return lines


def counts_line(statuses: list[dict[str, Any]]) -> str:
    from collections import Counter

    c = Counter(_outcome(st) for st in statuses)
    order = ["reproduced", "partly", "not reproduced", "undetermined", "not tested", "not run", "not run (failed)"]
    return ", ".join(f"{c[k]} {k}" for k in order if c[k]) + f" — {len(statuses)} analyses"


def write_index(root: Path, statuses: list[dict[str, Any]], *, header: dict[str, Any],
                uncovered: list[dict[str, str]] | None = None) -> tuple[Path, Path]:
    """`root/index.md` and `root/index.html` over `statuses` (one dict per analysis, in plan order)."""
    lines = ["# semiemo — every analysis of the five papers", ""]
    if header.get("budget") == "quick":
        lines += ["> **Quick verdicts are not evidence.** `--budget quick` checks that every analysis runs end to end "
                  "(few seeds, few epochs); its outcomes flip with any change. Use `--budget full` for verdicts.", ""]
    lines += [f"- {k}: {_cell(v)}" for k, v in header.items()] + [""]
    lines += ["## Summary", "", counts_line(statuses), ""] + summary_table(statuses) + [""]
    lines += ["Outcomes: *reproduced* — the paper's claimed shape holds on our means; *partly* — some series "
              "(or a ranking that agrees more than it disagrees) hold; *not reproduced* — with a measured "
              "diagnosis in its section; *undetermined* — an exact tie decides the claim, or the points differ by "
              "less than twice the seed-to-seed sd; *not tested* — a premise of the claim failed (named with its "
              "measured value in the why column) or nothing was claimed; *not run* — with the reason.", ""]
    if uncovered:
        lines += ["## Paper sources without an analysis", "",
                  "| paper | source | rows | why not |", "|---|---|---|---|"]
        lines += [f"| {u['paper']} | {u['source']} | {u.get('rows', '')} | {_cell(u['why'])} |" for u in uncovered]
        lines.append("")
    for st in statuses:
        name = st["name"]
        lines += [f'<a id="{name.lower()}"></a>', "", f"## {name} — paper {st.get('paper', '')}", ""]
        lines += [f"**{_outcome(st)}** · seeds {st.get('seeds', '—')} · trials {st.get('trials', '—')} · corpus "
                  f"`{_cell(st.get('corpus', ''))}` · budget `{st.get('budget', '')}` · wall {fmt_wall(st.get('wall_s'))}"
                  + (f" (its trials; re-analysed in {fmt_wall(st['reanalysis_wall_s'])})" if st.get("reanalysis_wall_s") else "")
                  + (f" · finished {st['finished']}" if st.get("finished") else ""), ""]
        if st.get("status") != "done":
            lines += [f"Not run: {_cell(st.get('why', 'not reached yet'))}", ""]
            continue
        lines += _embedded_report(root / name, name) + [""]
    md = root / "index.md"
    md.write_text("\n".join(lines) + "\n")
    html = root / "index.html"
    html.write_text(to_html("\n".join(lines), root, title="semiemo — reproduce"))
    return md, html


def to_html(markdown: str, root: Path, *, title: str) -> str:
    """Markdown (CommonMark + tables) to one self-contained HTML page; local PNGs become data URIs."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)

    def inline(m: re.Match) -> str:
        src = m.group(1)
        path = root / src
        if src.startswith(("data:", "http:", "https:")) or not path.is_file():
            return m.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="([^"]+\.png)"', inline, body)
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")
