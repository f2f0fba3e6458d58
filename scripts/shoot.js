// Takes the README's screenshots in Debian's Chromium (headless, Playwright from
// tests/js): node scripts/shoot.js JOBS.json, where each job is
// {url, out, width, height, full?, select?: {id: value}, hash?, wait?}.
// Called by scripts/screenshots.py, which says what each picture shows.
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'tests', 'js', 'node_modules', 'playwright-core'));
const fs = require('fs');

(async () => {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--hide-scrollbars'],
  });
  for (const job of jobs) {
    const page = await browser.newPage({ viewport: { width: job.width, height: job.height } });
    await page.goto(job.url, { waitUntil: 'load' });
    for (const [id, value] of Object.entries(job.select || {})) {
      await page.selectOption('#' + id, value);
    }
    // The gallery's frames load lazily: scroll through what is shown, then back.
    await page.evaluate(async () => {
      for (let y = 0; y < document.body.scrollHeight; y += 600) {
        window.scrollTo(0, y);
        await new Promise((r) => setTimeout(r, 50));
      }
      window.scrollTo(0, 0);
    });
    await page.waitForTimeout(job.wait || 500);
    await page.screenshot({ path: job.out, fullPage: !!job.full });
    await page.close();
    console.log('wrote ' + job.out);
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
