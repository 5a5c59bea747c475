/**
 * One colour per entity across the site, defined here and nowhere else: a reader who has learnt
 * that red is the eigenvectors and orange the shared principal basis on one figure can trust it
 * on every other. Captions name a colour only through `colourName` (a test holds every caption's
 * colour words to this map, and to colours its figure really draws).
 *
 * The hues are told apart in print and by readers with a red-green deficiency: the methods are
 * red, grey, blue and orange; the two MLP forms purple and green (ColorBrewer PRGn ends, apart in
 * lightness as well as hue). No figure colours the data sets (they are panels), so they have none.
 */

/** Each entity's colour, the word captions use for it, and what it stands for (the methods page's key). */
export const PALETTE = {
  eigen: { hex: '#b2182b', name: 'red', what: "an output's top eigenvectors" },
  // the causal check's fair control
  otherClass: { hex: '#de77ae', name: 'pink', what: "another output's top eigenvectors" },
  random: { hex: '#7f7f7f', name: 'grey', what: 'random orthonormal directions' },
  pcaClass: { hex: '#2166ac', name: 'blue', what: "principal directions of one class's inputs" },
  pcaShared: { hex: '#e08214', name: 'orange', what: 'principal directions shared by every output' },
  full: { hex: '#000000', name: 'black', what: 'the whole model, untruncated' },
  bilinear: { hex: '#762a83', name: 'purple', what: 'a model with a bilinear MLP' },
  swiglu: { hex: '#1b7837', name: 'green', what: 'its twin with a SwiGLU MLP' },
  // the finetune report's starting point
  pretrained: { hex: '#8c510a', name: 'brown', what: 'the pretrained model, not finetuned' },
  // a setting of the paper profile
  bilinearTwoLayers: { hex: '#c2a5cf', name: 'light purple', what: 'the two-layer bilinear model' },
  // the adversarial masks' second null
  noise: { hex: '#35978f', name: 'teal', what: 'noise of the same norm as a mask' },
} as const;

export type Entity = keyof typeof PALETTE;

/**
 * Signs on a diverging scale (eigenvalues, pixels of an eigenvector, contributions): the ends of
 * the site's red–blue colour map, not entities, so they may share hues with the methods.
 */
export const SIGNS = {
  positive: { hex: '#b2182b', name: 'red' },
  negative: { hex: '#2166ac', name: 'blue' },
} as const;

/** The better end of the sequential scale heatmaps use (viridis), as captions name it. */
export const SCALE_BETTER_END = 'yellow';

/** The colour of each entity, in order, for a Vega-Lite scale's `range`. */
export function colours(...entities: Entity[]): string[] {
  return entities.map((e) => PALETTE[e].hex);
}

/** The word a caption uses for an entity's colour. */
export function colourName(entity: Entity | keyof typeof SIGNS): string {
  return entity in PALETTE ? PALETTE[entity as Entity].name : SIGNS[entity as keyof typeof SIGNS].name;
}

/**
 * Every colour word a caption may use, with the hex a chart that names it must draw: an entity's,
 * a sign's (the same word is the same hex), or a scale end's (drawn through a colour map: null).
 */
export function captionColours(): Map<string, string | null> {
  const named = new Map<string, string | null>([[SCALE_BETTER_END, null]]);
  for (const swatch of [...Object.values(PALETTE), ...Object.values(SIGNS)]) {
    const before = named.get(swatch.name);
    if (before !== undefined && before !== swatch.hex)
      throw new Error(`palette: '${swatch.name}' names two colours (${before}, ${swatch.hex})`);
    named.set(swatch.name, swatch.hex);
  }
  return named;
}
