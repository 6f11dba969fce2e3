// Opens a StreamMl monitoring report in Debian's chromium (driven by playwright-core, which downloads no browser) and
// prints what a reader of the page sees, as JSON: the figures, each feature's histogram bars and statistics, the
// charts with their rendered sizes, the alert marks and rows, and every console error or failed request.
// Usage: node report-page.mjs URL_OR_FILE CHROMIUM [SCREENSHOT.png]
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const [target, executablePath, screenshot] = process.argv.slice(2);
const url = /^https?:/.test(target) ? target : pathToFileURL(target).href;
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const problems = [];
const requests = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', e => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', r => problems.push(`request failed: ${r.url()}`));
  page.on('request', r => requests.push(r.url()));
  const response = await page.goto(url, { waitUntil: 'load' });
  const seen = await page.evaluate(() => {
    const text = e => (e?.textContent ?? '').trim();
    const size = e => { const r = e.getBoundingClientRect(); return { width: r.width, height: r.height }; };
    const figures = {};
    for (const e of document.querySelectorAll('[data-figure]')) figures[e.dataset.figure] ??= { text: text(e), value: e.dataset.value ?? null };
    const features = [...document.querySelectorAll('article.feature')].map(a => ({
      name: a.dataset.feature,
      role: a.dataset.role,
      status: text(a.querySelector('h3 .badge')),
      reference: [...a.querySelectorAll('svg.histogram rect.bar.reference')].map(r => Number(r.dataset.count)),
      current: [...a.querySelectorAll('svg.histogram rect.bar.current')].map(r => Number(r.dataset.count)),
      barHeights: [...a.querySelectorAll('svg.histogram rect.bar')].map(r => r.getBoundingClientRect().height),
      statistics: Object.fromEntries([...a.querySelectorAll('table.statistics tbody tr')].map(r =>
        [r.dataset.statistic, { shown: text(r.querySelector('td.value')), status: text(r.querySelector('.badge')),
                                 warning: text(r.children[2]), drift: text(r.children[3]) }])),
      windowPoints: a.querySelectorAll('svg.lines polyline.psi').length === 0 ? 0
        : a.querySelector('svg.lines polyline.psi').getAttribute('points').trim().split(/\s+/).length,
    }));
    const charts = [...document.querySelectorAll('svg.chart')].map(s => ({ chart: s.dataset.chart, kind: s.classList[1], ...size(s),
      marks: s.querySelectorAll('rect.bar, circle, polyline').length }));
    return {
      title: document.title,
      figures,
      features,
      charts,
      alertMarks: document.querySelectorAll('svg.timeline circle.alert-mark').length,
      alertRows: [...document.querySelectorAll('table.alerts tbody tr')].map(r => ({ time: Number(r.dataset.time), cells: [...r.children].map(text) })),
      detectors: [...document.querySelectorAll('table.detectors tbody tr')].map(r => [...r.children].map(text)),
      tables: [...document.querySelectorAll('table.generic')].map(t => t.dataset.table),
      scripts: document.querySelectorAll('script:not([type="application/json"])').length,
      externalResources: [...document.querySelectorAll('[src], link[href]')].map(e => e.getAttribute('src') ?? e.getAttribute('href')),
      data: JSON.parse(document.getElementById('report-data').textContent),
    };
  });
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ status: response?.status() ?? null, problems, requests, ...seen }));
} finally {
  await browser.close();
}
