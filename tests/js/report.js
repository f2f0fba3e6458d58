// Opens report.html in Debian's Chromium (headless, through Playwright) at a desktop's
// and a phone's width and measures its charts. Used by tests/report_page.rs; prints one
// JSON line and exits 1 only when the browser cannot be driven.
//
//   node report.js FILE
//     for every chart (svg.chart) at each width: each text's box against the chart's
//     (a label or number drawn past the edge is clipped by the SVG), and every line that
//     is not a bar against the first bar's top (a tick above it is a stray).
const { chromium } = require('playwright-core');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

async function main() {
  const [file] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const result = { charts: 0, texts: 0, clipped: [], stray: [], labels: [] };
  try {
    for (const width of [1280, 390]) {
      const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
      await page.goto('file://' + path.resolve(file), { waitUntil: 'load' });
      const m = await page.$$eval('svg.chart', (svgs) => svgs.map((svg, k) => {
        const box = svg.getBoundingClientRect();
        const texts = [...svg.querySelectorAll('text')].map((t) => {
          const b = t.getBoundingClientRect();
          return { text: t.textContent.trim(), left: b.left - box.left, right: box.right - b.right, top: b.top - box.top, bottom: box.bottom - b.bottom };
        });
        const bars = [...svg.querySelectorAll('rect')].filter((r) => r.getAttribute('fill') !== '#FFFFFF'
          && Number(r.getAttribute('width')) < Number(svg.viewBox.baseVal.width));
        const firstTop = Math.min(...bars.map((r) => r.getBoundingClientRect().top));
        const lines = [...svg.querySelectorAll('line, polyline, path')].map((l) => l.getBoundingClientRect().top);
        return { k, texts, firstTop: firstTop - box.top, lines: lines.map((t) => t - box.top) };
      }));
      result.charts += m.length;
      for (const c of m) {
        for (const t of c.texts) {
          result.texts++;
          if (width === 1280) result.labels.push(t.text);
          if (Math.min(t.left, t.right, t.top, t.bottom) < -0.5) {
            result.clipped.push({ width, chart: c.k, ...t });
          }
        }
        for (const top of c.lines) {
          if (top < c.firstTop - 5) result.stray.push({ width, chart: c.k, top, firstBar: c.firstTop });
        }
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exit(1);
});
