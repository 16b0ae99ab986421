/** Naming downloaded files. Pure, unit-tested. */

/**
 * The file name a `Content-Disposition` header gives (`filename*=UTF-8''…` preferred over
 * `filename="…"`), reduced to a safe base name; `fallback` without one.
 */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (!header) return fallback;
  let name: string | undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      name = decodeURIComponent(extended[1]!.trim());
    } catch {
      name = undefined;
    }
  }
  if (name === undefined) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(header);
    name = plain ? (plain[1] ?? plain[2] ?? '').replace(/\\(.)/g, '$1').trim() : undefined;
  }
  const safe = name?.split(/[\\/]/).pop()?.replace(/[\u0000-\u001f]/g, '').trim();
  return safe ? safe : fallback;
}

/** `talk-ABCDE-2024-05-01T10-30.csv`: a talk's export named for the moment it was taken. */
export function exportFilename(code: string, format: 'json' | 'csv', at: Date): string {
  const stamp = at.toISOString().slice(0, 16).replace(/:/g, '-');
  return `talk-${code}-${stamp}.${format}`;
}
