"""Exports an executed notebook to HTML and Markdown in one Python start-up (each `jupyter
nbconvert` call costs about a second of imports). Same exporters, templates and file layout as
`jupyter nbconvert --to html` / `--to markdown --output NAME`: Markdown's images go to NAME_files/.

Deliberate differences from a plain nbconvert export (the HTML template is TEMPLATE below):

- SVG outputs. nbconvert 6.5 (Debian's) passes image/svg+xml through lxml's *HTML* cleaner, which
  deletes every child of <svg> (jupyter/nbconvert#1849, fixed only in 7.x), so every figure would
  export as an empty box. We override `data_svg` with an SVG-aware cleaner built on allow-lists
  (svg_allowlist.py): parse as XML, keep only the SVG elements and attributes listed there (so
  <script>, <foreignObject>, <style>, <set>/<animate> and every `on*` handler go, whatever their
  spelling), keep links only to fragments (`#id`), raster data: images and — for <a> —
  http(s)/mailto/relative targets, judged after removing the tabs, newlines and control
  characters a browser ignores (`java&#9;script:`), and inline the rest. An SVG that does not
  parse as XML, or whose root is not <svg>, is embedded as an <img> data URL instead.
- Interactive figures. An output that also carries a Vega-Lite spec
  (application/vnd.vegalite.v5+json, as every gradlab figure bundle does) is drawn live by
  vega-embed (tooltips, actions), with the cleaned SVG kept as the fallback shown until (and
  unless) the chart renders. vega, vega-lite and vega-embed are inlined once, at the end of a page
  that has a figure; no script is fetched from anywhere. The spec is embedded as JSON in a
  <script type="application/json"> with <, > and & escaped, so it cannot end the element.
- Self-contained. No require.js (nothing in these reports uses it, and its AMD `define` would
  hide vega's globals), and MathJax 3 from a path relative to the report (the runner copies it
  into the report folder) instead of Debian's file:///usr/share/javascript/... URLs.
- A header (HTML and Markdown, rendered by the runner: report-header.mjs), links to the data
  files written beside the report (output metadata `gradlab.files`, report-data.mjs), and
  report mode (`no_input`: code cells hidden).

usage: export.py EXECUTED.ipynb OUTPUT_DIR NAME [EXTRAS.json] [html] [markdown]
EXTRAS.json (optional, written by export.mjs): {header_html, header_markdown, no_input,
vega_scripts: [paths to inline], mathjax_src: relative URL or null}.
"""
import base64
import json
import os
import sys

import nbformat
from jinja2 import DictLoader
from jupyter_core.paths import jupyter_config_dir
from lxml import etree
from nbconvert.exporters import HTMLExporter, MarkdownExporter
from nbconvert.writers import FilesWriter

from svg_allowlist import clean_svg_tree


TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{%- if resources.gradlab.mathjax_src %}
<script>
window.MathJax = {
  tex: { inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]], processEscapes: true, processEnvironments: true, tags: "ams" },
  svg: { fontCache: "global" },
  options: { enableMenu: false }
};
</script>
<script defer src="{{ resources.gradlab.mathjax_src | escape_html }}"></script>
{%- endif %}
{%- endblock html_head_js_mathjax -%}
{% block extra_css %}
<style>
  /* Printed (PDF) reports wrap long code lines instead of cutting them off at the page edge. */
  @media print { .jp-InputArea-editor pre, .jp-OutputArea-output pre { white-space: pre-wrap; overflow-wrap: anywhere; } }
  .gradlab-header { font-family: system-ui, sans-serif; margin: 1rem 0 1.5rem; padding: .8rem 1rem; border: 1px solid #ddd; border-radius: 4px; background: #fafafa; }
  .gradlab-header h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  .gradlab-header table { border-collapse: collapse; font-size: .9rem; }
  .gradlab-header th, .gradlab-header td { text-align: left; vertical-align: top; padding: .15rem .8rem .15rem 0; border: 0; }
  .gradlab-header .verdict { font-weight: bold; white-space: nowrap; }
  .gradlab-header .reproduced { color: #17692b; } .gradlab-header .not-reproduced { color: #b00020; } .gradlab-header .inconclusive { color: #8a5a00; }
  .gradlab-header .holds-by-construction { color: #666; font-style: italic; font-weight: normal; }
  .gradlab-data { font-family: system-ui, sans-serif; font-size: .8rem; color: #666; margin: .2rem 0 .6rem; }
  .gradlab-vega-fallback[hidden] { display: none; }
</style>
{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{{ resources.gradlab.header_html }}
{%- endblock body_header -%}
{%- macro data_links(output) -%}
{%- set files = (output.metadata.get('gradlab') or {}).get('files') or [] -%}
{%- if files %}
<div class="gradlab-data">data: {% for f in files %}<a href="{{ f | urlencode | escape_html }}">{{ f.split('/')[-1] | escape_html }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</div>
{%- endif %}
{%- endmacro -%}
{% block data_svg scoped -%}
{%- set spec = output.data.get('application/vnd.vegalite.v5+json') -%}
{%- if spec and resources.gradlab.vega_scripts %}
<div class="jp-OutputArea-output gradlab-figure {{ extra_class }}" data-mime-type="application/vnd.vegalite.v5+json">
<div class="gradlab-vega"></div>
<script type="application/json" class="gradlab-vega-spec">{{ spec | spec_json }}</script>
<div class="gradlab-vega-fallback jp-RenderedSVG" data-mime-type="image/svg+xml">
{{ output.data['image/svg+xml'] | clean_svg }}
</div>
{{ data_links(output) }}
</div>
{%- else %}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
{{ output.data['image/svg+xml'] | clean_svg }}
{{ data_links(output) }}
</div>
{%- endif %}
{%- endblock data_svg %}
{% block data_html scoped -%}
<div class="jp-RenderedHTMLCommon jp-RenderedHTML jp-OutputArea-output {{ extra_class }}" data-mime-type="text/html">
{%- if resources.should_sanitize_html %}
{{ output.data['text/html'] | clean_html }}
{%- else %}
{{ output.data['text/html'] }}
{%- endif %}
{{ data_links(output) }}
</div>
{%- endblock data_html %}
{% block footer_js %}
{%- if resources.gradlab.vega_scripts and resources.gradlab.has_figures %}
{%- for script in resources.gradlab.vega_scripts %}
<script>{{ script }}</script>
{%- endfor %}
<script>
(function () {
  // Figures draw from their embedded spec only: any other URL a spec names (data, images) is
  // refused, so an opened report never reaches the network; data: URIs (inline images) are fine.
  var loader = vega.loader();
  loader.sanitize = function (uri) {
    return /^data:/i.test(uri) ? Promise.resolve({ href: uri }) : Promise.reject(new Error("gradlab report: not loading " + uri));
  };
  document.querySelectorAll(".gradlab-figure").forEach(function (figure) {
    var target = figure.querySelector(".gradlab-vega");
    var fallback = figure.querySelector(".gradlab-vega-fallback");
    var spec;
    try { spec = JSON.parse(figure.querySelector(".gradlab-vega-spec").textContent); } catch (e) { return; }
    vegaEmbed(target, spec, { renderer: "svg", loader: loader, actions: { export: true, source: false, compiled: false, editor: false } })
      .then(function () { fallback.hidden = true; figure.setAttribute("data-rendered", "vega"); })
      .catch(function (error) { target.remove(); figure.setAttribute("data-rendered", "fallback"); console.warn("gradlab report: figure kept as SVG:", error); });
  });
})();
</script>
{%- endif %}
{% endblock footer_js %}
"""


def clean_svg(svg):
    """Inline-safe SVG markup (see the module docstring)."""
    text = svg if isinstance(svg, str) else "".join(svg)
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(text.strip().encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        root = None
    if root is None or not clean_svg_tree(root):
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return f'<img alt="figure" src="data:image/svg+xml;base64,{encoded}">'
    return etree.tostring(root, encoding="unicode")


def spec_json(spec):
    """A spec as JSON that cannot close its <script> element or open a comment in it."""
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def read_scripts(paths):
    """The vega scripts' text, checked not to contain a sequence that would end an inline <script>."""
    scripts = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        lowered = text.lower()
        if "</script" in lowered or "<!--" in lowered:
            raise ValueError(f"{path} contains </script or <!-- and cannot be inlined as is")
        scripts.append(text)
    return scripts


def has_figures(notebook):
    return any(
        "application/vnd.vegalite.v5+json" in (output.get("data") or {}) and "image/svg+xml" in (output.get("data") or {})
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def html_exporter(no_input):
    exporter = HTMLExporter(extra_loaders=[DictLoader({"gradlab.html.j2": TEMPLATE})], template_file="gradlab.html.j2")
    exporter.register_filter("clean_svg", clean_svg)
    exporter.register_filter("spec_json", spec_json)
    exporter.exclude_input = no_input
    exporter.exclude_input_prompt = no_input
    return exporter


def markdown_exporter(no_input):
    exporter = MarkdownExporter()
    exporter.exclude_input = no_input
    exporter.exclude_input_prompt = no_input
    return exporter


def main():
    source, output_dir, name, *rest = sys.argv[1:]
    extras = {}
    if rest and rest[0].endswith(".json"):
        with open(rest[0], encoding="utf-8") as f:
            extras = json.load(f)
        rest = rest[1:]
    formats = rest or ["html", "markdown"]
    notebook = nbformat.read(source, as_version=4)
    gradlab = {
        "header_html": extras.get("header_html") or "",
        "mathjax_src": extras.get("mathjax_src"),
        "vega_scripts": read_scripts(extras.get("vega_scripts") or []),
        "has_figures": has_figures(notebook),
    }
    no_input = bool(extras.get("no_input"))
    exporters = {"html": lambda: html_exporter(no_input), "markdown": lambda: markdown_exporter(no_input)}
    writer = FilesWriter(build_directory=output_dir)
    for fmt in formats:
        resources = {
            "config_dir": jupyter_config_dir(),
            "unique_key": name,
            "output_files_dir": f"{name}_files",
            "metadata": {"name": name, "path": os.path.dirname(os.path.abspath(source))},  # page title
            "gradlab": gradlab,
        }
        body, resources = exporters[fmt]().from_notebook_node(notebook, resources=resources)
        if fmt == "markdown" and extras.get("header_markdown"):
            body = extras["header_markdown"].rstrip("\n") + "\n\n" + body
        writer.write(body, resources, notebook_name=name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
