// Opens the HTML part of e-mails in Debian's Chromium (headless, through Playwright) at
// the widths of a phone and a small tablet. Used by tests/preview.rs; prints one JSON
// line and exits 1 only when the browser cannot be driven.
//
//   node emails.js DIR WIDTH…
//     for every DIR/*.html and every WIDTH (CSS pixels): how wide the document is
//     (document scrollWidth) against the window (innerWidth), the links a reader sees,
//     and the web addresses its visible text shows (innerText), so that the test can
//     name the offending file.
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

async function main() {
  const [dir, ...widths] = process.argv.slice(2);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.html')).sort();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const result = { files: files.length, widths: {}, text_urls: {}, requests: [] };
  try {
    for (const w of widths.map(Number)) {
      // Not isMobile: a phone zooms a page wider than itself out, and innerWidth grows with it.
      const page = await browser.newPage({
        viewport: { width: w, height: 900 }, deviceScaleFactor: 1,
      });
      // An e-mail fetches nothing (images, fonts): every request but the file is a fault.
      page.on('request', (r) => { if (!r.url().startsWith('file://')) result.requests.push(r.url()); });
      const rows = [];
      for (const f of files) {
        await page.goto('file://' + path.resolve(dir, f), { waitUntil: 'load' });
        const m = await page.evaluate(() => ({
          scroll: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
          inner: window.innerWidth,
          urls: (document.body.innerText.match(/https?:\/\/\S+/g) || []),
          // What a reader can click: a stray comment or tag could hide the buttons.
          links: [...document.links].filter((a) => a.offsetHeight > 0).map((a) => a.href),
        }));
        rows.push({ file: f, scroll_width: m.scroll, inner_width: m.inner, links: m.links });
        if (m.urls.length) result.text_urls[f] = m.urls;
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
