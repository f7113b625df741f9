/**
 * The part of Apache ECharts the wall uses, and nothing more (tree-shaken): `echarts/core` with the
 * bar and line charts, the grid, legend and aria components and the SVG renderer (why SVG:
 * views/stats.ts). Everything on the page that draws a chart imports ECharts from here, never from
 * `echarts` itself, so the bundle cannot grow the whole library by accident.
 *
 * scripts/build-dashboard.ts bundles this file once per ECharts version (and per change of this
 * file) into a cache and reuses it: ECharts is most of the wall's bundle, and rebuilding it for every
 * browser test suite on a shared 2-core machine took seconds each time.
 */
import { init, use } from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

use([BarChart, LineChart, GridComponent, LegendComponent, AriaComponent, SVGRenderer]);

export { init };
export type { EChartsType } from 'echarts/core';
