/** Figure references in narratives: an unknown id is named with its file and line before the site builds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkReferences, findReferences, narrativeFigureOrder } from '../../site/lib/references.ts';

const figures = new Map([
  ['mnist', ['training-curves', 'eigenvector-gallery']],
  ['baselines', ['summary-table']],
]);

test('finds <Figure> and <FigureRef> ids in any quoting, with their lines', () => {
  const source = `# Title\n<Figure id="training-curves" />\nSee <FigureRef id='eigenvector-gallery' /> and <FigureRef id={"baselines/summary-table"} />.`;
  assert.deepEqual(findReferences(source), [
    { component: 'Figure', id: 'training-curves', line: 2 },
    { component: 'FigureRef', id: 'eigenvector-gallery', line: 3 },
    { component: 'FigureRef', id: 'baselines/summary-table', line: 3 },
  ]);
});

test("known references pass, including another report's figure", () => {
  const source =
    '<Figure id="training-curves" />\n<FigureRef id="eigenvector-gallery" />\n<FigureRef id="baselines/summary-table" />';
  assert.deepEqual(checkReferences('content/mnist.mdx', source, 'mnist', figures), []);
});

test('an unknown figure names the file, the line, the id and the known ids', () => {
  const problems = checkReferences(
    'content/mnist.mdx',
    'text\n\n<FigureRef id="eigen-gallery" />',
    'mnist',
    figures,
  );
  assert.deepEqual(problems, [
    "content/mnist.mdx:3: <FigureRef id=\"eigen-gallery\">: report 'mnist' has no figure 'eigen-gallery' (known: training-curves, eigenvector-gallery)",
  ]);
  assert.match(
    checkReferences('content/mnist.mdx', '<Figure id="nope" />', 'mnist', figures)[0]!,
    /content\/mnist\.mdx:1: <Figure id="nope">: report 'mnist' has no figure 'nope'/,
  );
});

test("an unknown report, a bare id outside a narrative, and embedding another report's figure are refused", () => {
  assert.match(
    checkReferences('content/mnist.mdx', '<FigureRef id="nope/x" />', 'mnist', figures)[0]!,
    /there is no report 'nope'/,
  );
  assert.match(
    checkReferences('site/pages/methods.mdx', '<FigureRef id="summary-table" />', null, figures)[0]!,
    /outside a report narrative, name the figure as report\/figure/,
  );
  assert.match(
    checkReferences('content/mnist.mdx', '<Figure id="baselines/summary-table" />', 'mnist', figures)[0]!,
    /<Figure> embeds a figure of this page's own report/,
  );
});

test('figures are numbered in reading order: first mention in the narrative, then the rest', () => {
  const narrative =
    'See <FigureRef id="c" />.\n\n<Figure id="a" />\n\n<Figure id="c" />, and <FigureRef id="other/x" /> <Figure id=\'d\' />';
  assert.deepEqual(narrativeFigureOrder(narrative, ['a', 'b', 'c', 'd', 'e']), ['c', 'a', 'd', 'b', 'e']);
  assert.deepEqual(narrativeFigureOrder('', ['a', 'b']), ['a', 'b']);
  // an id the report does not have is not a figure of it (the reference check reports it)
  assert.deepEqual(narrativeFigureOrder('<Figure id="zz" />', ['a']), ['a']);
});
