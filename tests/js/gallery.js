// Drives Debian's Chromium (headless, through Playwright) over dunwell's preview
// gallery. Used by tests/preview.rs; prints one JSON line and exits 1 on any failure.
//
//   node gallery.js static FILE_URL
//     the gallery loads with no console errors and no network request, the filters
//     show exactly the matching cells, every e-mail iframe shows its e-mail, every
//     letter page image loads.
//   node gallery.js fit FILE_URL
//     waits until the gallery has measured every e-mail at a phone's width and prints
//     the cells it found too wide, what "problems only" then shows and the header's
//     count.
//   node gallery.js served URL
//     the gallery as `serve` sends it (its Content-Security-Policy, under the access
//     token of a LAN bind): it loads with no console error and no failed request, every
//     e-mail and payment-page frame shows its message, every letter page decodes, the
//     event stream answers under the token; an injected inline handler is refused.
//   node gallery.js live URL TEMPLATE_FILE CELL_ID NEW_TEXT
//     edits TEMPLATE_FILE (appends NEW_TEXT to its first body paragraph) and measures
//     how long until the open page shows it in CELL_ID's e-mail; then breaks the
//     template and expects the error in that cell, with the server still answering.
const { chromium } = require('playwright-core');
const fs = require('fs');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const failures = [];
const result = {};
function check(ok, what) {
  if (!ok) failures.push(what);
}

async function open(url) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  const requests = [];
  const responses = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => {
    // A reload cuts the event stream and the frames still loading: expected.
    if (!r.url().endsWith('/events') && r.failure().errorText !== 'net::ERR_ABORTED') errors.push('request failed: ' + r.url() + ' ' + r.failure().errorText);
  });
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => responses.push({ url: r.url(), status: r.status() }));
  await page.goto(url, { waitUntil: 'load' });
  return { browser, page, errors, requests, responses };
}

async function visible(page) {
  return page.$$eval('article.cell', (cs) => cs.filter((c) => !c.hidden).map((c) => ({
    cluster: c.dataset.cluster, stage: c.dataset.stage, channel: c.dataset.channel,
    locale: c.dataset.locale, problem: c.dataset.problem, overflow: c.dataset.overflow,
    id: c.id,
  })));
}

// The gallery measures its e-mails one after another at 390 px: until every e-mail
// frame has its width.
async function fits(page) {
  await page.waitForFunction(() => document.querySelectorAll('iframe.email[data-fit]:not([data-width])').length === 0,
    null, { timeout: 120000 });
  return page.$$eval('iframe.email[data-fit]', (fs) => fs.map((f) => ({
    cell: f.closest('article.cell').id, width: Number(f.dataset.width),
  })));
}

async function fitGallery(url) {
  const { browser, page, errors } = await open(url);
  const widths = await fits(page);
  result.measured = widths.length;
  result.unmeasured = widths.filter((w) => w.width <= 0).map((w) => w.cell);
  check(result.unmeasured.length === 0, 'e-mails not measured: ' + result.unmeasured.slice(0, 3).join(' '));
  const all = await visible(page);
  result.too_wide = all.filter((c) => c.overflow === '1').map((c) => c.id);
  result.too_wide_texts = await page.$$eval('p.too-wide', (ps) => ps.map((p) => p.textContent));
  await page.check('#f-problems');
  result.problems_only = (await visible(page)).map((c) => c.id);
  result.header = await page.textContent('header .title p');
  result.console_errors = errors;
  check(errors.length === 0, 'console errors: ' + errors.slice(0, 3).join(' | '));
  await browser.close();
}

async function staticGallery(url) {
  const { browser, page, errors, requests } = await open(url);
  // Every e-mail measured at a phone's width first: a cell it finds too wide is a problem.
  const widths = await fits(page);
  result.measured = widths.length;
  result.too_wide = widths.filter((w) => w.width > 390 || w.width <= 0);
  const all = await visible(page);
  result.cells = all.length;
  check(all.length > 0, 'no cells');

  // Filters: each one alone, then two together, then "problems only".
  for (const [key, value] of [['cluster', 'unable'], ['channel', 'sms'], ['locale', 'ja'], ['stage', 'pre_legal']]) {
    await page.selectOption('#f-' + key, value);
    const shown = await visible(page);
    const expected = all.filter((c) => c[key] === value).length;
    check(shown.length === expected && shown.every((c) => c[key] === value),
      `filter ${key}=${value}: ${shown.length} shown, ${expected} expected`);
    check((await page.textContent('#shown')).startsWith(expected + ' of '), `count text for ${key}`);
    check(new URL(page.url()).hash.includes(`${key}=${value}`), `the URL keeps ${key}`);
    await page.selectOption('#f-' + key, '');
  }
  await page.selectOption('#f-cluster', 'unwilling');
  await page.selectOption('#f-channel', 'letter');
  const both = await visible(page);
  check(both.length === all.filter((c) => c.cluster === 'unwilling' && c.channel === 'letter').length
    && both.length > 0, 'two filters together');
  // The filters survive a reload (they live in the URL).
  await page.reload({ waitUntil: 'load' });
  check((await visible(page)).length === both.length, 'filters kept across a reload');
  await page.selectOption('#f-cluster', '');
  await page.selectOption('#f-channel', '');
  await page.check('#f-problems');
  const problems = await visible(page);
  result.problem_cells = problems.length;
  check(problems.length === all.filter((c) => c.problem === '1' || c.overflow === '1').length, 'problems only');
  check(await page.isVisible('#none') === (problems.length === 0), 'the "no cell" notice');
  await page.uncheck('#f-problems');

  // Every e-mail iframe shows its e-mail: the customer's name and the payment link.
  const frames = await page.$$('iframe.email');
  result.email_iframes = frames.length;
  let shown = 0;
  for (const f of frames) {
    check(await f.getAttribute('sandbox') === '', 'iframe is sandboxed with nothing allowed');
    // Frames load lazily, as they come into view.
    await f.scrollIntoViewIfNeeded();
    const frame = await f.contentFrame();
    if (frame) await frame.waitForLoadState('load');
    const text = frame ? await frame.evaluate(() => document.body ? document.body.innerText : '') : '';
    const name = await f.evaluate((el) => el.closest('.sample').querySelector('.who b').textContent);
    const links = frame ? await frame.$$eval('a[href^="https://"]', (as) => as.length) : 0;
    if (text.length > 100 && text.includes(name) && links > 0) shown++;
    else failures.push(`iframe ${await f.getAttribute('src')}: ${text.length} chars, name ${name} ${text.includes(name)}, ${links} links`);
  }
  result.email_iframes_showing = shown;
  check(frames.length > 0 && shown === frames.length, 'every e-mail iframe shows its e-mail');

  // Letter pages: every page image decodes (scrolled into view: they load lazily).
  await page.selectOption('#f-channel', 'letter');
  const imgs = await page.$$('img.page');
  let decoded = 0;
  for (const img of imgs) {
    if (await img.isVisible()) {
      await img.scrollIntoViewIfNeeded();
      await page.waitForFunction((el) => el.complete, img);
      if (await img.evaluate((el) => el.naturalWidth > 500)) decoded++;
    }
  }
  result.letter_pages = imgs.length;
  result.letter_pages_decoded = decoded;
  check(imgs.length > 0 && decoded === imgs.length, 'every letter page image loads');

  const remote = requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:') && !u.startsWith('about:'));
  result.remote_requests = remote;
  check(remote.length === 0, 'network requests: ' + remote.slice(0, 3).join(' '));
  result.console_errors = errors;
  check(errors.length === 0, 'console errors: ' + errors.slice(0, 3).join(' | '));
  await browser.close();
}

async function served(url) {
  const { browser, page, errors, responses } = await open(url);
  result.cells = (await visible(page)).length;
  check(result.cells > 0, 'no cells');
  // Every frame shows its message (the messages' own policy: styles, no scripts).
  const frames = await page.$$('iframe.email, iframe.web');
  let shown = 0;
  for (const f of frames) {
    await f.scrollIntoViewIfNeeded();
    const frame = await f.contentFrame();
    if (frame) await frame.waitForLoadState('load');
    const text = frame ? await frame.evaluate(() => document.body ? document.body.innerText : '') : '';
    // Styled: both set the body's margin to 0 (a browser's default is 8px), an e-mail
    // in its inlined style attribute, a payment page in its <style>.
    const styled = frame ? await frame.evaluate(() =>
      !!document.body && getComputedStyle(document.body).marginTop === '0px') : false;
    if (text.length > 100 && styled) shown++;
    else failures.push(`frame ${await f.getAttribute('src')}: ${text.length} chars, styled ${styled}`);
  }
  result.frames = frames.length;
  result.frames_showing = shown;
  check(frames.length > 0 && shown === frames.length, 'every frame shows its message');
  const imgs = await page.$$('img.page');
  let decoded = 0;
  for (const img of imgs) {
    await img.scrollIntoViewIfNeeded();
    await page.waitForFunction((el) => el.complete, img);
    if (await img.evaluate((el) => el.naturalWidth > 500)) decoded++;
  }
  result.letter_pages = imgs.length;
  result.letter_pages_decoded = decoded;
  check(imgs.length > 0 && decoded === imgs.length, 'every letter page image loads');
  // The page's event stream, relative to the page: under the token.
  const events = new URL('events', url).href;
  const t = Date.now();
  while (!responses.some((r) => r.url === events) && Date.now() - t < 5000) await page.waitForTimeout(50);
  result.events = responses.filter((r) => r.url === events).map((r) => r.status);
  check(result.events.length > 0 && result.events.every((s) => s === 200), 'the event stream answers under ' + events);
  const bad = responses.filter((r) => r.status >= 400);
  result.failed_responses = bad;
  check(bad.length === 0, 'failed responses: ' + bad.slice(0, 3).map((r) => r.status + ' ' + r.url).join(' '));
  result.console_errors = errors.slice();
  check(errors.length === 0, 'console errors: ' + errors.slice(0, 3).join(' | '));
  // The policy is enforced: markup injected into the page cannot run a handler.
  await page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<img src="data:," onerror="window.pwned = 1">'));
  await page.waitForTimeout(300);
  result.injected_handler_ran = await page.evaluate(() => window.pwned === 1);
  check(!result.injected_handler_ran, 'an injected inline handler ran: no CSP');
  result.csp_refusals = errors.filter((e) => e.includes('Content Security Policy')).length;
  check(result.csp_refusals > 0, 'the injected handler was not reported as refused');
  await browser.close();
}

async function emailText(page, cellId) {
  const el = await page.$(`article[id="${cellId}"] iframe.email`);
  if (!el) return '';
  await el.scrollIntoViewIfNeeded();
  const frame = await el.contentFrame();
  return frame ? frame.evaluate(() => document.body ? document.body.innerText : '') : '';
}

async function live(url, file, cellId, marker) {
  const { browser, page, errors } = await open(url + '#cluster=' + cellId.split('.')[0]);
  check(!(await emailText(page, cellId)).includes(marker), 'marker already there');
  // Wait until the page has settled with its event stream open, as an editor's would be.
  const target = await page.$(`article[id="${cellId}"] iframe.email`);
  await target.scrollIntoViewIfNeeded();
  await (await target.contentFrame()).waitForLoadState('load');
  await page.waitForTimeout(500);
  const original = fs.readFileSync(file, 'utf8');
  // Two edits, the faster one judged: a machine busy compiling can stall one reload for
  // a moment, and what the test is about is the server's path from save to screen.
  result.edit_ms = [];
  for (const m of [marker, marker + '-2']) {
    const lines = original.split('\n');
    // Line 3 is the greeting's paragraph (subject, blank, body).
    lines[2] = lines[2] + ' ' + m;
    const started = Date.now();
    fs.writeFileSync(file, lines.join('\n'));
    let seen = false;
    while (Date.now() - started < 5000) {
      try {
        if ((await emailText(page, cellId)).includes(m)) { seen = true; break; }
      } catch (e) { /* the page is reloading */ }
      await page.waitForTimeout(25);
    }
    result.edit_ms.push(Date.now() - started);
    check(seen, `the edit ${m} never showed`);
  }
  result.edit_visible_ms = Math.min(...result.edit_ms);
  check(result.edit_visible_ms < 2000, `the edits took ${result.edit_ms.join(' and ')} ms to show`);
  check(new URL(page.url()).hash.includes('cluster='), 'the reload kept the filters');

  // A syntax error: shown in the cell, the server keeps serving.
  fs.writeFileSync(file, original.replace('{{', '{% if %}{{'));
  let error = '';
  const t2 = Date.now();
  while (Date.now() - t2 < 5000) {
    try {
      error = await page.$eval(`article[id="${cellId}"] pre.error`, (e) => e.textContent);
      if (error) break;
    } catch (e) { /* not yet */ }
    await page.waitForTimeout(25);
  }
  result.error_text = error.split('\n').slice(0, 2).join(' / ');
  check(error.includes(file.split('/').pop()), 'the template error names the file in its cell');
  fs.writeFileSync(file, original);
  const back = Date.now();
  let restored = false;
  while (Date.now() - back < 5000) {
    try {
      const t = await emailText(page, cellId);
      if (t.length > 100 && !t.includes(marker)) { restored = true; break; }
    } catch (e) { /* reloading */ }
    await page.waitForTimeout(25);
  }
  check(restored, 'the fixed template shows again');
  result.console_errors = errors;
  check(errors.length === 0, 'console errors: ' + errors.slice(0, 3).join(' | '));
  await browser.close();
}

(async () => {
  const [mode, ...args] = process.argv.slice(2);
  try {
    if (mode === 'static') await staticGallery(args[0]);
    else if (mode === 'fit') await fitGallery(args[0]);
    else if (mode === 'served') await served(args[0]);
    else if (mode === 'live') await live(...args);
    else failures.push('usage: gallery.js static URL | fit URL | served URL | live URL FILE CELL MARKER');
  } catch (e) {
    failures.push(String(e && e.stack || e));
  }
  result.failures = failures;
  console.log(JSON.stringify(result));
  process.exit(failures.length ? 1 : 0);
})();
