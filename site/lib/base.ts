/**
 * The base path the site is published under, from BASE_PATH: GitHub Pages gives '' (a user
 * site) or '/repository' (a project site); people write 'bilinear', '/bilinear' or '/bilinear/'.
 * All mean the same: the base always starts and ends with one slash.
 */
export function normalizeBase(value: string | undefined): string {
  const trimmed = (value ?? '').trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

/** The address a local build names: it is not anyone's published site, and every page says so. */
export const LOCAL_SITE = 'http://localhost:4321';

/** Whether an address is this machine's (a local build's), not a published site's. */
export function isLocalSite(site: string): boolean {
  const host = new URL(site).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host) || host === '0.0.0.0';
}

/**
 * The scheme and host the site's absolute addresses (citations, canonical and OpenGraph links,
 * sitemap, manifest) are built from: SITE_URL, or the local address when it is unset. A build for
 * publishing (PUBLISH=1, as the Pages workflow sets) refuses to name a local or malformed address,
 * since every citation made from the site would then point at the reader's own machine.
 */
export function siteAddress(env: Record<string, string | undefined>): { site: string; local: boolean } {
  const given = env.SITE_URL?.trim();
  const publishing = env.PUBLISH === '1' || env.PUBLISH === 'true';
  if (!given) {
    if (publishing)
      throw new Error(
        'PUBLISH is set but SITE_URL is not: a published site needs its real address ' +
          '(SITE_URL=https://example.org), or every citation names http://localhost:4321/',
      );
    return { site: LOCAL_SITE, local: true };
  }
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    throw new Error(
      `SITE_URL=${given} is not an address: give the scheme and host, e.g. SITE_URL=https://example.org ` +
        '(the sub-path goes in BASE_PATH)',
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error(`SITE_URL=${given}: the address must start with https:// or http://`);
  if (parsed.pathname !== '/' || parsed.search || parsed.hash)
    throw new Error(
      `SITE_URL=${given}: give only the scheme and host (${parsed.origin}); ` +
        `the sub-path goes in BASE_PATH=${parsed.pathname}`,
    );
  const local = isLocalSite(given);
  if (publishing && local)
    throw new Error(
      `PUBLISH is set but SITE_URL=${given} is this machine's address: give ` +
        `the address the site is published at`,
    );
  return { site: parsed.origin, local };
}
