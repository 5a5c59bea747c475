/**
 * Citations: CITATION.cff is valid Citation File Format 1.2.0 and agrees with package.json; the
 * BibTeX, short citation and Highwire tags name the URL and both versions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bibtex, escapeBibtex, highwireTags, shortCitation } from '../../site/lib/citation.ts';
import { parseCitationCff } from '../../site/lib/project.ts';

const cff = readFileSync('CITATION.cff', 'utf8');
const project = parseCitationCff(cff);
const figure = {
  title: 'Fashion-MNIST: logit R² against k',
  within: 'Figure 4 of "Eigenvectors against baselines"',
  id: 'baselines/fashion-mnist-r2-vs-k',
  url: 'https://example.org/reports/baselines/figures/fashion-mnist-r2-vs-k/',
  dataVersion: '0123456789ab',
};

test("CITATION.cff is CFF 1.2.0 with the required keys, and its version is the package's", () => {
  assert.match(cff, /^cff-version: 1\.2\.0$/m);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.equal(project.version, pkg.version);
  assert.match(project.released, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(project.authors.length > 0);
});

test('an invalid CITATION.cff is refused with the key that is wrong', () => {
  assert.throws(
    () => parseCitationCff(cff.replace('cff-version: 1.2.0', 'cff-version: 1.1.0')),
    /CITATION\.cff: cff-version/,
  );
  assert.throws(
    () => parseCitationCff(cff.replace(/date-released: .*/, 'date-released: "24 Nov"')),
    /date-released must be YYYY-MM-DD/,
  );
  assert.throws(
    () => parseCitationCff(cff.replace(/authors:\n( {2}- .*\n)+/, 'authors: []\n')),
    /CITATION\.cff: authors/,
  );
});

test('BibTeX: a @misc entry with the URL, the project and data versions, special characters escaped', () => {
  const entry = bibtex(project, figure);
  assert.match(entry, /^@misc\{bilinear-reports:baselines:fashion-mnist-r2-vs-k,\n/);
  assert.match(
    entry,
    /url {10}= \{https:\/\/example\.org\/reports\/baselines\/figures\/fashion-mnist-r2-vs-k\/\}/,
  );
  assert.match(
    entry,
    new RegExp(
      `note {9}= \\{version ${project.version.replace(/\./g, '\\.')}, data version 0123456789ab, id baselines/fashion-mnist-r2-vs-k\\}`,
    ),
  );
  assert.match(
    entry,
    /title {8}= \{\{Fashion-MNIST: logit R² against k \(Figure 4 of "Eigenvectors against baselines"\)\}\}/,
  );
  assert.match(entry, /author {7}= \{\{Bilinear reports contributors\}\}/);
  assert.ok(entry.endsWith('\n}'));
  assert.equal(
    escapeBibtex('50% of a_b & {c} #1 $x$ ~ ^'),
    '50\\% of a\\_b \\& \\{c\\} \\#1 \\$x\\$ \\textasciitilde{} \\textasciicircum{}',
  );
});

test('the short citation and Highwire tags name the URL and the versions', () => {
  const line = shortCitation(project, figure);
  assert.equal(
    line,
    `Bilinear reports contributors (${project.year}). Fashion-MNIST: logit R² against k. Figure 4 of "Eigenvectors against baselines". Bilinear reports, version ${project.version}, data version 0123456789ab. ${figure.url}`,
  );
  const tags = Object.fromEntries(highwireTags(project, figure));
  assert.equal(tags['citation_public_url'], figure.url);
  assert.equal(tags['citation_publication_date'], project.released.replace(/-/g, '/'));
  assert.equal(tags['citation_author'], 'Bilinear reports contributors');
});
