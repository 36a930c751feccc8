"""Allow-list sanitiser for SVG inlined into exported HTML reports (used by export.py).

Why an allow-list: the previous filter removed what it knew to be active (<script>, on*,
"javascript:" links) and so kept everything it did not know: `href="java&#9;script:…"` (browsers
drop the tab), <set attributeName="href" to="javascript:…">, <animate values="javascript:…">,
<style>@import url(…)</style>. Here an element or attribute survives only if it is listed below,
so a new trick is dropped by default. The lists cover what Vega's SVG renderer emits (checked in
test/report-escaping.test.ts: a Vega figure comes out with the same elements and attributes) and
the usual static SVG vocabulary; there is deliberately no animation, scripting, <style>,
<foreignObject>, <feImage> or external reference.

Links (href, xlink:href) are judged after removing what a browser's URL parser ignores (ASCII tab
and newline anywhere, control characters and spaces at the ends): fragments (#id) everywhere;
raster data: images on <image>; http, https, mailto and relative targets on <a>. Attribute values
may reference paint servers, clips, masks, filters and markers only inside the document
(`url(#id)`), so nothing is fetched from outside.
"""
import re

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XML_NS = "{http://www.w3.org/XML/1998/namespace}"

ELEMENTS = {
    "svg", "g", "defs", "title", "desc", "symbol", "use", "a", "switch",
    "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "textPath", "image",
    "clipPath", "mask", "pattern", "marker", "linearGradient", "radialGradient", "stop",
    "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite", "feConvolveMatrix",
    "feDiffuseLighting", "feDisplacementMap", "feDistantLight", "feDropShadow", "feFlood", "feFuncA",
    "feFuncB", "feFuncG", "feFuncR", "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology",
    "feOffset", "fePointLight", "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence",
}

ATTRIBUTES = {
    # structure, accessibility, geometry
    "id", "class", "lang", "role", "version", "viewBox", "preserveAspectRatio", "transform",
    "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "fr", "d", "points",
    "width", "height", "dx", "dy", "rotate", "textLength", "lengthAdjust", "pathLength", "offset",
    "gradientUnits", "gradientTransform", "spreadMethod", "patternUnits", "patternContentUnits",
    "patternTransform", "clipPathUnits", "maskUnits", "maskContentUnits", "markerUnits", "markerWidth",
    "markerHeight", "refX", "refY", "orient", "startOffset", "method", "spacing", "side",
    "requiredExtensions", "systemLanguage", "target", "href",
    # presentation
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "opacity", "color",
    "display", "visibility", "pointer-events", "clip-path", "clip-rule", "mask", "filter", "overflow",
    "font-family", "font-size", "font-size-adjust", "font-style", "font-weight", "font-variant",
    "font-stretch", "text-anchor", "dominant-baseline", "alignment-baseline", "baseline-shift",
    "letter-spacing", "word-spacing", "text-decoration", "writing-mode", "direction", "unicode-bidi",
    "stop-color", "stop-opacity", "marker-start", "marker-mid", "marker-end", "shape-rendering",
    "text-rendering", "image-rendering", "color-rendering", "vector-effect", "paint-order",
    "mix-blend-mode", "isolation", "color-interpolation", "color-interpolation-filters",
    "flood-color", "flood-opacity", "lighting-color",
    # filter primitives (values of feColorMatrix; <animate> is not an allowed element)
    "filterUnits", "primitiveUnits", "in", "in2", "result", "stdDeviation", "edgeMode", "operator",
    "k1", "k2", "k3", "k4", "type", "values", "tableValues", "slope", "intercept", "amplitude",
    "exponent", "scale", "xChannelSelector", "yChannelSelector", "radius", "mode", "order",
    "kernelMatrix", "divisor", "bias", "targetX", "targetY", "preserveAlpha", "surfaceScale",
    "specularConstant", "specularExponent", "diffuseConstant", "kernelUnitLength", "azimuth",
    "elevation", "pointsAtX", "pointsAtY", "pointsAtZ", "limitingConeAngle", "baseFrequency",
    "numOctaves", "seed", "stitchTiles",
}
ATTRIBUTE_PREFIXES = ("aria-", "data-")
XML_ATTRIBUTES = {XML_NS + "space", XML_NS + "lang"}

RASTER_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp|avif);base64,[a-z0-9+/=]*$")
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
URL_REFERENCE = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.S)
# Presentation attributes whose value may hold url(...): only same-document references pass, and no
# backslash (a CSS escape could spell "url" or a scheme in a way this check would not read).
URL_VALUED = {"fill", "stroke", "clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end"}


def browser_url(value):
    """The URL as a browser's parser reads it: tab/newline removed, C0 controls and spaces trimmed."""
    return re.sub(r"[\t\n\r]", "", value).strip("".join(chr(c) for c in range(0x21)))


def link_allowed(element_name, value):
    url = browser_url(value)
    folded = url.lower()
    if url.startswith("#"):
        return True
    if element_name == "image":
        return RASTER_DATA.match(re.sub(r"\s", "", folded)) is not None
    if element_name == "a":
        scheme = SCHEME.match(folded)
        return scheme is None or scheme.group(1) in ("http", "https", "mailto")
    return False  # <use>, <textPath>, gradients, patterns, filters: same-document references only


def url_value_allowed(value):
    if "\\" in value:
        return False
    return all(browser_url(match.group(2)).startswith("#") for match in URL_REFERENCE.finditer(value))


def local_name(node):
    qname = etree.QName(node)
    return qname.localname if qname.namespace in (None, SVG_NS) else None


def attribute_allowed(element_name, attribute, value):
    if attribute in (XLINK_HREF, "href"):
        return link_allowed(element_name, value)
    if attribute in XML_ATTRIBUTES:
        return True
    if "{" in attribute:
        return False  # any other namespaced attribute
    if attribute not in ATTRIBUTES and not attribute.startswith(ATTRIBUTE_PREFIXES):
        return False  # on*, style, attributeName, to, from, begin, …
    return attribute not in URL_VALUED or url_value_allowed(value)


def clean_svg_tree(root):
    """Cleans `root` in place; returns False when it is not an <svg> element (the caller then embeds an <img>)."""
    if not isinstance(root.tag, str) or local_name(root) != "svg":
        return False
    stack = [root]  # explicit stack: a deeply nested SVG cannot overflow Python's recursion limit
    while stack:
        node = stack.pop()
        name = local_name(node)
        for attribute in list(node.attrib):
            if not attribute_allowed(name, attribute, node.attrib[attribute]):
                del node.attrib[attribute]
        for child in list(node):
            if isinstance(child.tag, str) and local_name(child) in ELEMENTS:
                stack.append(child)
            else:  # comments, processing instructions, entities and every element not listed
                remove_keeping_tail(child)
    return True


def remove_keeping_tail(node):
    """Removes `node` and its subtree; the text after it (lxml keeps it on the node) stays in place."""
    parent, previous = node.getparent(), node.getprevious()
    if node.tail:
        if previous is None:
            parent.text = (parent.text or "") + node.tail
        else:
            previous.tail = (previous.tail or "") + node.tail
    parent.remove(node)
