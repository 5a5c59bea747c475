/**
 * Eigenvector images: each feature as a small PNG tile (sharp), and a gallery that lays tiles out
 * in a labelled grid with a colour legend, as SVG (crisp text, any zoom) and as PNG.
 */
import sharp from 'sharp';
import { colorize, divergingColor, hex, maxAbs } from './colormap.ts';
import { escapeXml, formatValue, svgDocument } from './svg.ts';

export interface Tile {
  values: ArrayLike<number>; // (height · width), row-major
  /** Text under the tile, e.g. the eigenvalue. */
  label: string;
}

export interface GalleryRow {
  label: string;
  tiles: Tile[];
}

export interface GalleryLayout {
  title: string;
  height: number;
  width: number;
  columnHeaders: string[];
  /** Pixels per image pixel in the tiles. */
  zoom: number;
  /**
   * One colour scale ±limit for every tile (values beyond are clamped), for galleries whose tiles
   * are compared by strength; absent: each tile is scaled to its own max |value|.
   */
  limit?: number;
  /** Width of the row labels' column (default 56). */
  labelWidth?: number;
  /** What the colour scale means, beside it (default: how the features are scaled). */
  legend?: string;
}

/** A feature as an RGB PNG, nearest-neighbour enlarged, on a symmetric colour scale ±limit. */
export async function featurePng(
  values: ArrayLike<number>,
  height: number,
  width: number,
  limit: number,
  zoom: number,
): Promise<Buffer> {
  return sharp(Buffer.from(colorize(values, limit)), { raw: { width, height, channels: 3 } })
    .resize(width * zoom, height * zoom, { kernel: 'nearest' })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** An input image as a grayscale PNG (0 white … 1 black, as digits are drawn on paper), enlarged. */
export async function grayPng(
  values: ArrayLike<number>,
  height: number,
  width: number,
  zoom: number,
): Promise<Buffer> {
  const pixels = Uint8Array.from({ length: height * width }, (_, i) =>
    Math.round(255 * (1 - Math.max(0, Math.min(1, values[i]!)))),
  );
  return sharp(Buffer.from(pixels), { raw: { width, height, channels: 1 } })
    .resize(width * zoom, height * zoom, { kernel: 'nearest' })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** An <image> element for a PNG, drawn pixelated at (x, y). */
export function pngImage(png: Buffer, x: number, y: number, w: number, h: number): string {
  return (
    `<image x="${x}" y="${y}" width="${w}" height="${h}" ` +
    `style="image-rendering:pixelated" preserveAspectRatio="none" ` +
    `href="data:image/png;base64,${png.toString('base64')}"/><rect x="${x}" ` +
    `y="${y}" width="${w}" height="${h}" fill="none" stroke="#999" stroke-width="0.5"/>`
  );
}

const MARGIN = { left: 56, top: 44, gap: 10, label: 18, legend: 64 };

/**
 * The gallery as SVG. Each tile is scaled to its own max |value| (so every feature's shape is
 * visible) unless the layout gives one limit for all; the legend says which. Tiles are embedded
 * as PNG data URIs so the SVG stands alone.
 */
export async function gallerySvg(
  rows: GalleryRow[],
  layout: GalleryLayout,
): Promise<{ svg: string; width: number; height: number }> {
  const tileW = layout.width * layout.zoom;
  const tileH = layout.height * layout.zoom;
  const cols = Math.max(...rows.map((r) => r.tiles.length));
  // Row labels are right-aligned before the first column: wide enough for the longest (15 px bold
  // DejaVu Sans runs about 10 px a character), so "T-shirt/top" is never cut at the edge.
  const left = Math.max(
    layout.labelWidth ?? MARGIN.left,
    20 + Math.ceil(10 * Math.max(0, ...rows.map((r) => r.label.length))),
  );
  // At least wide enough for the colour bar and its note, whatever the number of columns.
  const width = Math.max(left + cols * (tileW + MARGIN.gap), left + 620);
  const height = MARGIN.top + rows.length * (tileH + MARGIN.label + MARGIN.gap) + MARGIN.legend;
  const body: string[] = [];
  layout.columnHeaders.forEach((header, c) => {
    body.push(
      `<text x="${left + c * (tileW + MARGIN.gap) + tileW / 2}" y="${MARGIN.top - 12}" ` +
        `font-size="13" text-anchor="middle">${escapeXml(header)}</text>`,
    );
  });
  for (const [r, row] of rows.entries()) {
    const y = MARGIN.top + r * (tileH + MARGIN.label + MARGIN.gap);
    body.push(
      `<text x="${left - 10}" y="${y + tileH / 2 + 5}" font-size="15" ` +
        `font-weight="bold" text-anchor="end">${escapeXml(row.label)}</text>`,
    );
    for (const [c, tile] of row.tiles.entries()) {
      const x = left + c * (tileW + MARGIN.gap);
      const png = await featurePng(
        tile.values,
        layout.height,
        layout.width,
        layout.limit ?? (maxAbs(tile.values) || 1),
        1,
      );
      body.push(
        pngImage(png, x, y, tileW, tileH),
        `<text x="${x + tileW / 2}" y="${y + tileH + 13}" font-size="11" ` +
          `text-anchor="middle" fill="#333">${escapeXml(tile.label)}</text>`,
      );
    }
  }
  body.push(
    ...colourBar(
      left,
      height - MARGIN.legend + 16,
      Math.min(width - left - 16, 320),
      layout.limit,
      layout.legend,
    ),
  );
  return { svg: svgDocument(width, height, layout.title, body), width, height };
}

/** A colour bar from −max to +max of each tile (or ±limit for all tiles), with its three ticks. */
export function colourBar(x: number, y: number, width: number, limit?: number, legend?: string): string[] {
  const [low, high, fallback] =
    limit === undefined
      ? ['−1 · max |f|', '+1 · max |f|', 'each tile scaled to its own max |f|']
      : [`−${formatValue(limit)}`, `+${formatValue(limit)}`, 'one scale for all tiles (unit-norm features)'];
  const note = legend === undefined ? fallback : escapeXml(legend);
  const steps = 64;
  const out = [`<g aria-label="colour scale">`];
  for (let i = 0; i < steps; i++) {
    const t = -1 + (2 * (i + 0.5)) / steps;
    out.push(
      `<rect x="${(x + (i * width) / steps).toFixed(2)}" y="${y}" ` +
        `width="${(width / steps + 0.3).toFixed(2)}" height="12" fill="${hex(divergingColor(t))}"/>`,
    );
  }
  out.push(
    `<rect x="${x}" y="${y}" width="${width}" height="12" fill="none" stroke="#999" stroke-width="0.5"/>`,
    `<text x="${x}" y="${y + 28}" font-size="11">${low}</text>`,
    `<text x="${x + width / 2}" y="${y + 28}" font-size="11" text-anchor="middle">0</text>`,
    `<text x="${x + width}" y="${y + 28}" font-size="11" text-anchor="end">${high}</text>`,
    `<text x="${x + width + 12}" y="${y + 10}" font-size="11" fill="#333">${note}</text>`,
    '</g>',
  );
  return out;
}

/**
 * Rasterises an SVG to PNG (librsvg through sharp) at exactly twice its size in pixels (sharp
 * reads an SVG at 72 dpi, so 144), sharp on a high-density screen, a slide or a printed page;
 * embedded tiles stay pixelated.
 */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 2 * 72 })
    .png({ compressionLevel: 9 })
    .toBuffer();
}
