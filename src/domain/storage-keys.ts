/**
 * Object keys (DESIGN "Storage"). Keys carry ids and dates, never file names: a file name can be
 * protected health information. Pure functions so the API, intake, worker and data layer agree.
 */

const EXTENSIONS: Readonly<Record<string, string>> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/tiff': 'tiff',
  'image/webp': 'webp',
};

/** File extension for a declared content type; `bin` for anything unknown (intake rejects those). */
export function extensionFor(contentType: string): string {
  return EXTENSIONS[contentType.toLowerCase()] ?? 'bin';
}

function yearMonth(at: Date): string {
  return at.toISOString().slice(0, 7);
}

export function uploadKey(p: { userId: string; fileId: string; contentType: string; at: Date }): string {
  return `uploads/${p.userId}/${yearMonth(p.at)}/${p.fileId}/original.${extensionFor(p.contentType)}`;
}

/** Folder holding every result object of a task, including `pages/{n}.json` checkpoints. Ends with `/`. */
export function resultsPrefix(p: { userId: string; taskId: string; at: Date }): string {
  return `results/${p.userId}/${yearMonth(p.at)}/${p.taskId}/`;
}

/** `{prefix}{taskId}_{yyyymmdd_hhmmss}.{ext}` for the assembled documents. */
export function resultKeys(p: { prefix: string; taskId: string; at: Date }): {
  htmlKey: string;
  textKey: string;
  jsonKey: string;
} {
  const iso = p.at.toISOString(); // 2026-11-29T18:12:55.018Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  const base = `${p.prefix}${p.taskId}_${stamp}`;
  return { htmlKey: `${base}.html`, textKey: `${base}.txt`, jsonKey: `${base}.json` };
}

export function pageCheckpointKey(p: { prefix: string; page: number }): string {
  return `${p.prefix}pages/${p.page}.json`;
}

/** Page previews are WebP: the worker writes them, the page-image route serves them with this type. */
export const PREVIEW_CONTENT_TYPE = 'image/webp';

/** A small WebP of the page as the engine read it (boxes in the JSON view refer to it), beside its checkpoint. */
export function pagePreviewKey(p: { prefix: string; page: number }): string {
  return `${p.prefix}pages/${p.page}.webp`;
}

/**
 * Whether a key or prefix lies inside one owner's or one task's area: `uploads/{id}/…` or
 * `results/{id}/…`. Erasure is only ever aimed at such an area; anything wider (`''`, `uploads/`,
 * `results`) would remove other users' objects or the whole bucket.
 */
export function isWithinErasableArea(keyOrPrefix: string): boolean {
  return /^(?:uploads|results)\/(?!\.\.?\/)[^/]+\//.test(keyOrPrefix);
}
