// heymax's Plotly.js: the core plus only the trace types the dashboard draws (see
// app/src/charts/*.rs). Built into build/plotly/plotly.min.js by build.mjs.
//
// plotly.js/lib/core brings everything the charts need besides the traces: the cartesian
// axes, hover labels (tooltips, unified x hover), zoom/pan/box select (the brush), the
// legend (and its click events), shapes and annotations (growth's incomplete-period band
// and reference line), colorscales/colorbar (retention heatmap), the modebar with its
// PNG download (Snapshot/toImage), the en / en-US locales, and the scatter trace.
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/scatter'), // lines and markers (growth, retention, explore); already in core
    require('plotly.js/lib/bar'), // growth's stacked bars, explore's grouped bars
    require('plotly.js/lib/heatmap'), // retention's cohort grid
    require('plotly.js/lib/sankey') // interactions' flow
]);

module.exports = Plotly;
