/**
 * The base path the site is published under, from BASE_PATH: GitHub Pages gives '' (a user
 * site) or '/repository' (a project site); people write 'bilinear', '/bilinear' or '/bilinear/'.
 * All mean the same: the base always starts and ends with one slash.
 */
export function normalizeBase(value: string | undefined): string {
  const trimmed = (value ?? '').trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}
