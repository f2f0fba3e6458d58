// Opens payment pages (web/TOKEN/index.html) in Debian's Chromium (headless, through
// Playwright) at a phone's and a desktop's width and measures what a reader would
// notice. Used by tests/payment_pages.rs; prints one JSON line and exits 1 only when the
// browser cannot be driven.
//
//   node pages.js SPEC WIDTH…
//     SPEC is a JSON file: [{file, phrases: [dates and amounts as the page prints them]}].
//     For every page and width: the document's width against the window's; every element
//     whose computed word-break is break-all; each phrase found in the page's text with
//     the number of lines it is set on (a Range over the words, so the markup around
//     them does not matter); what sticks out of its card; where the header's text
//     starts against the content column (the first section's left edge); and the text
//     of the payment plan's rows.
const { chromium } = require('playwright-core');
const fs = require('fs');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

async function main() {
  const [spec, ...widths] = process.argv.slice(2);
  const pages = JSON.parse(fs.readFileSync(spec, 'utf8'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const result = { pages: pages.length, widths: {}, requests: [] };
  try {
    for (const w of widths.map(Number)) {
      const page = await browser.newPage({
        viewport: { width: w, height: 900 }, deviceScaleFactor: 1,
      });
      // A payment page loads nothing from elsewhere.
      page.on('request', (r) => { if (!r.url().startsWith('file://')) result.requests.push(r.url()); });
      const rows = [];
      for (const p of pages) {
        await page.goto('file://' + p.file, { waitUntil: 'load' });
        const m = await page.evaluate((phrases) => {
          const norm = (s) => s.replace(/[\u00a0\u202f]/g, ' ');
          const breakAll = [...document.querySelectorAll('*')]
            .filter((e) => getComputedStyle(e).wordBreak === 'break-all')
            .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
              + ': ' + (e.textContent || '').trim().slice(0, 40));
          // Lines a range is set on: its boxes' distinct tops (a phrase across two text
          // nodes on one line has two boxes with one top).
          const lines = (range) => new Set([...range.getClientRects()]
            .filter((r) => r.width > 0)
            .map((r) => Math.round(r.top))).size;
          const found = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          const texts = [];
          for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(n);
          // The phrases are looked for in each block's text, which may run over several
          // text nodes (`<strong>` inside a sentence).
          const blocks = new Set(texts.map((t) => t.parentElement.closest('p,li,td,th,dd,dt,h1,h2,a,footer,header,figcaption')).filter(Boolean));
          for (const b of blocks) {
            const nodes = texts.filter((t) => b.contains(t));
            let all = '';
            const starts = nodes.map((t) => { const s = all.length; all += norm(t.data); return s; });
            const at = (i) => {
              let k = starts.length - 1;
              while (k > 0 && starts[k] > i) k--;
              return [nodes[k], i - starts[k]];
            };
            for (const ph of phrases) {
              const want = norm(ph);
              for (let i = all.indexOf(want); i >= 0; i = all.indexOf(want, i + 1)) {
                const r = document.createRange();
                r.setStart(...at(i));
                const [endNode, endOff] = at(i + want.length - 1);
                r.setEnd(endNode, endOff + 1);
                found.push({ phrase: ph, lines: lines(r), in: b.tagName.toLowerCase() });
              }
            }
          }
          const header = document.querySelector('body > header');
          const headerText = header && [...texts].find((t) => header.contains(t) && t.data.trim());
          let headerLeft = null;
          if (headerText) {
            const r = document.createRange();
            r.selectNodeContents(headerText);
            headerLeft = r.getClientRects()[0].left;
          }
          // What sticks out of its card: the page may not scroll, and still a cell
          // can run over the card's padding or edge.
          const outside = [];
          for (const sec of document.querySelectorAll('main section')) {
            // Its content box: a cell over the padding is as wrong as one over the edge.
            const b = sec.getBoundingClientRect();
            const st = getComputedStyle(sec);
            const box = { left: b.left + parseFloat(st.paddingLeft), right: b.right - parseFloat(st.paddingRight) };
            for (const e of sec.querySelectorAll('*')) {
              const r = e.getBoundingClientRect();
              if (r.width > 0 && (r.right > box.right + 0.5 || r.left < box.left - 0.5)) {
                outside.push(e.tagName.toLowerCase() + ': ' + (e.textContent || '').trim().slice(0, 40));
              }
            }
          }
          const section = document.querySelector('main section');
          return {
            scroll: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
            inner: window.innerWidth,
            break_all: breakAll,
            outside,
            found,
            header_left: headerLeft,
            column_left: section ? section.getBoundingClientRect().left : null,
            plan_rows: [...document.querySelectorAll('#plan li')].map((li) => norm(li.innerText).replace(/\s+/g, ' ').trim()),
          };
        }, p.phrases);
        rows.push({ file: p.file, ...m });
      }
      result.widths[w] = rows;
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
