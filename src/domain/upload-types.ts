/**
 * What a client may upload and list, shared by the API's schemas and the CLI. Pure: no I/O, no
 * database, so the CLI bundle can import it.
 */

/** The upload types the service reads, each with the file-name extensions that may declare it. */
export const UPLOAD_TYPES = {
  'application/pdf': ['pdf'],
  'image/png': ['png'],
  'image/jpeg': ['jpg', 'jpeg'],
  'image/tiff': ['tif', 'tiff'],
  'image/webp': ['webp'],
} as const satisfies Record<string, readonly string[]>;

export type UploadContentType = keyof typeof UPLOAD_TYPES;
export const UPLOAD_CONTENT_TYPES = Object.keys(UPLOAD_TYPES) as [UploadContentType, ...UploadContentType[]];

/** Tasks a listing can filter on: a deleted task is never shown. */
export const LISTABLE_STATUSES = ['awaiting_upload', 'queued', 'processing', 'completed', 'failed'] as const;
export type ListableStatus = (typeof LISTABLE_STATUSES)[number];
