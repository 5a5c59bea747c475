/** Markdown tables made ready to stack on a phone: every cell labelled with its column, roles explicit. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stackTable } from '../../site/lib/stack-table.ts';

const inner =
  '<thead><tr><th></th><th>none</th><th>latent noise + decay</th></tr></thead>' +
  '<tbody><tr><td>effective rank</td><td><span class="metric">17.4</span></td><td>17.3</td></tr>' +
  '<tr><td>periphery "mass" & more</td><td>0.27</td><td>0.32</td></tr></tbody>';

test('each body cell carries its column name; the header keeps its cells', () => {
  const { header, html } = stackTable(inner);
  assert.deepEqual(header, ['', 'none', 'latent noise + decay']);
  assert.match(html, /<td role="cell" data-label="none"><span class="metric">17.4<\/span><\/td>/);
  assert.match(html, /<td role="cell" data-label="latent noise \+ decay">0.32<\/td>/);
  // an empty column name gives no label (the row's name stands alone)
  assert.match(html, /<td role="cell">effective rank<\/td>/);
  assert.match(html, /<td role="cell">periphery "mass" & more<\/td>/);
});

test('roles stay explicit whatever CSS does to the display', () => {
  const { html } = stackTable(inner);
  assert.match(html, /^<thead role="rowgroup"><tr role="row"><th role="columnheader"><\/th>/);
  assert.equal(html.match(/role="row"/g)!.length, 3);
  assert.match(html, /<tbody role="rowgroup">/);
});

test('a label with quotes is escaped in its attribute; entities stay as written', () => {
  const { html } = stackTable(
    '<thead><tr><th>a "b" &amp; c</th></tr></thead><tbody><tr><td>1</td></tr></tbody>',
  );
  assert.match(html, /data-label="a &quot;b&quot; &amp; c"/);
});
