/**
 * gradlab.viz — figures and tables for notebooks.
 *   builders (pure, return Vega-Lite v5 specs): lineChart, scatterChart, barChart, histogram, heatmap, facet
 *   Figure: render() → {svg, png}, save(path), show()
 *   display(fig) / displayTable(df) / displayMarkdown(text): one multi-MIME display bundle in the tslab kernel
 * vega, vega-lite, resvg and danfo load lazily, on first render/table, so importing this is cheap.
 */
export type { DataRecord, DataFrameLike, Tabular, NonFinitePolicy, FieldType } from "./data";
export { VEGA_LITE_SCHEMA } from "./spec-common";
export type { VegaLiteSpec, CommonOptions } from "./spec-common";
export { lineChart, scatterChart, barChart } from "./specs";
export type { LineChartOptions, ScatterChartOptions, BarChartOptions, ScaleName } from "./specs";
export { histogram, heatmap } from "./specs-dist";
export type { HistogramOptions, HeatmapOptions } from "./specs-dist";
export { facet } from "./facet";
export type { FacetOptions } from "./facet";
export { renderFigure, renderSvg, svgToPng, compileToVega, fontStatus } from "./render";
export type { RenderOptions, RenderedFigure, FontStatus } from "./render";
export { Figure, figure, FIGURE_FORMATS } from "./figure";
export { display, figureBundle, sendBundle, detectDisplayTarget, FIGURE_MIME_TYPES } from "./display";
export type { DisplayBundle, DisplayTarget } from "./display";
export { toDataFrame, tableBundle, displayTable, formatNumber, formatCell, escapeHtml, TABLE_MIME_TYPES } from "./table";
export type { TableOptions } from "./table";
export { displayMarkdown, markdownBundle, escapeMarkdown } from "./markdown";
