"""Exports an executed notebook to HTML and Markdown in one Python start-up (each `jupyter
nbconvert` call costs about a second of imports). Same exporters, templates and file layout as
`jupyter nbconvert --to html` / `--to markdown --output NAME`: Markdown's images go to NAME_files/.

One deliberate difference: SVG outputs in HTML. nbconvert 6.5 (Debian's) passes image/svg+xml
through lxml's *HTML* cleaner, which deletes every child of <svg> (jupyter/nbconvert#1849, fixed
only in 7.x), so every figure would export as an empty box. We override the lab template's
`data_svg` block with an SVG-aware cleaner built on allow-lists (svg_allowlist.py): parse as XML,
keep only the SVG elements and attributes listed there (so <script>, <foreignObject>, <style>,
<set>/<animate> and every `on*` handler go, whatever their spelling), keep links only to
fragments (`#id`), raster data: images and — for <a> — http(s)/mailto/relative targets, judged
after removing the tabs, newlines and control characters a browser ignores (`java&#9;script:`),
and inline the rest. An SVG that does not parse as XML, or whose root is not <svg>, is embedded as
an <img> data URL instead (a browser runs no script there and loads nothing external).

usage: export.py EXECUTED.ipynb OUTPUT_DIR NAME [html] [markdown]
"""
import base64
import os
import sys

import nbformat
from jinja2 import DictLoader
from jupyter_core.paths import jupyter_config_dir
from lxml import etree
from nbconvert.exporters import HTMLExporter, MarkdownExporter
from nbconvert.writers import FilesWriter

from svg_allowlist import clean_svg_tree


TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block extra_css %}
<style>
  /* Printed (PDF) reports wrap long code lines instead of cutting them off at the page edge. */
  @media print { .jp-InputArea-editor pre, .jp-OutputArea-output pre { white-space: pre-wrap; overflow-wrap: anywhere; } }
</style>
{% endblock extra_css %}
{% block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
{{ output.data['image/svg+xml'] | clean_svg }}
</div>
{%- endblock data_svg %}
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


def html_exporter():
    exporter = HTMLExporter(extra_loaders=[DictLoader({"gradlab.html.j2": TEMPLATE})], template_file="gradlab.html.j2")
    exporter.register_filter("clean_svg", clean_svg)
    return exporter


def main():
    source, output_dir, name, *formats = sys.argv[1:]
    notebook = nbformat.read(source, as_version=4)
    exporters = {"html": html_exporter, "markdown": MarkdownExporter}
    writer = FilesWriter(build_directory=output_dir)
    for fmt in formats or ["html", "markdown"]:
        resources = {
            "config_dir": jupyter_config_dir(),
            "unique_key": name,
            "output_files_dir": f"{name}_files",
            "metadata": {"name": name, "path": os.path.dirname(os.path.abspath(source))},  # page title
        }
        body, resources = exporters[fmt]().from_notebook_node(notebook, resources=resources)
        writer.write(body, resources, notebook_name=name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
