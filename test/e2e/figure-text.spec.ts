/**
 * Every drawing of the smoke build, opened as Chromium renders it with the site's font: no text
 * runs outside the SVG's frame, no two texts overlap, and no chart label is cut short with an ellipsis.
 * Vega lays charts out with estimated text widths and our own SVGs place text by hand, so only a
 * real renderer shows what a reader (or a paper's PDF) gets.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';

/** The smoke build; FIGURES_DIST=dist checks the published build's drawings the same way. */
const DIST = process.env.FIGURES_DIST ?? '.smoke/dist';

/** Files of every figure's drawings: figure.svg and the SVGs of its own pages. */
function drawings(): string[] {
  const out: string[] = [];
  const reports = join(DIST, 'reports');
  if (!existsSync(reports)) return out;
  for (const report of readdirSync(reports).sort()) {
    const figures = join(reports, report, 'figures');
    if (!existsSync(figures)) continue;
    for (const figure of readdirSync(figures).sort()) {
      for (const file of readdirSync(join(figures, figure)).sort()) {
        if (file.endsWith('.svg')) out.push(join(figures, figure, file));
      }
    }
  }
  return out;
}

interface Box {
  text: string;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Overlap of two boxes beyond a pixel each way (glyph boxes of neighbouring lines may touch). */
function overlaps(a: Box, b: Box): boolean {
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return w > 1 && h > 1;
}

const all = drawings();

test('the smoke build has drawings to check', () => {
  expect(all.length).toBeGreaterThan(20);
});

test('no figure draws text outside its frame, over other text, or cut short', async ({ page }) => {
  test.setTimeout(300_000);
  const problems: string[] = [];
  for (const path of all) {
    await page.goto(pathToFileURL(resolve(path)).href);
    const { frame, boxes, vega } = await page.evaluate(() => {
      const root = document.documentElement.getBoundingClientRect();
      const shown = (el: Element) => {
        for (let e: Element | null = el; e; e = e.parentElement) {
          const style = getComputedStyle(e);
          if (style.display === 'none' || style.visibility === 'hidden' || Number(style.opacity) === 0)
            return false;
        }
        return true;
      };
      const texts = Array.from(document.querySelectorAll('text')).filter(
        (t) => (t.textContent ?? '').trim() !== '' && shown(t),
      );
      return {
        vega: document.documentElement.classList.contains('marks'),
        frame: { left: root.left, top: root.top, right: root.right, bottom: root.bottom },
        boxes: texts.map((t) => {
          const b = t.getBoundingClientRect();
          return {
            text: (t.textContent ?? '').trim(),
            left: b.left,
            top: b.top,
            right: b.right,
            bottom: b.bottom,
          };
        }),
      };
    });
    for (const b of boxes) {
      if (
        b.left < frame.left - 0.5 ||
        b.top < frame.top - 0.5 ||
        b.right > frame.right + 0.5 ||
        b.bottom > frame.bottom + 0.5
      ) {
        problems.push(
          `${path}: "${b.text}" runs outside the frame (${Math.round(b.left)}–${Math.round(b.right)} × ${Math.round(b.top)}–${Math.round(b.bottom)} in ${Math.round(frame.right)} × ${Math.round(frame.bottom)})`,
        );
      }
      // Vega cuts a label that passes its limit with an ellipsis (texts of ours may end in one on purpose)
      if (vega && b.text.includes('…')) problems.push(`${path}: "${b.text}" is cut short`);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        if (overlaps(boxes[i]!, boxes[j]!))
          problems.push(`${path}: "${boxes[i]!.text}" overlaps "${boxes[j]!.text}"`);
      }
    }
  }
  expect(problems).toEqual([]);
});
