import { chromium } from '@playwright/test';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const p = await b.newPage({ viewport: { width: 375, height: 800 }, javaScriptEnabled: true });
await p.goto('http://127.0.0.1:4399/methods/');
console.log(
  await p.evaluate(() => {
    const W = document.documentElement.clientWidth;
    return [...document.querySelectorAll('main *')]
      .filter(
        (e) => e.getBoundingClientRect().right > W + 1 && !e.closest('.table-scroll, .math-display, pre'),
      )
      .slice(0, 8)
      .map(
        (e) =>
          e.tagName +
          ' ' +
          (e.closest('math')?.querySelector('annotation')?.textContent ?? e.textContent).slice(0, 90) +
          ' ' +
          Math.round(e.getBoundingClientRect().right),
      );
  }),
);
await b.close();
