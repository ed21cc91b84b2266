/**
 * Task lifecycle and the records the data layer hands out. Pure: no I/O, no SQL.
 *
 * The database enforces the same rules (CHECK constraints and `UPDATE … WHERE status = $from`);
 * this module lets callers reason about them without a round trip and keeps the two in one place.
 */

export const TASK_STATUSES = [
  'awaiting_upload',
  'queued',
  'processing',
  'completed',
  'failed',
  'deleted',
] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'deleted'];

/** Forward-only moves. `deleted` is reachable from every non-deleted state (see DESIGN "Deletion"). */
const NEXT: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  awaiting_upload: ['queued', 'failed', 'deleted'],
  queued: ['processing', 'failed', 'deleted'],
  processing: ['completed', 'failed', 'deleted'],
  completed: ['deleted'],
  failed: ['deleted'],
  deleted: [],
};

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}

/** Terminal: no worker will ever act on it again. `completed`/`failed` may still be deleted. */
export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return NEXT[from].includes(to);
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: TaskStatus,
    readonly to: TaskStatus,
    reason = 'transitions only move forward',
  ) {
    super(`task transition ${from} → ${to} is not allowed: ${reason}`);
    this.name = 'InvalidTransitionError';
  }
}

export function assertTransition(from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}

/**
 * Why a task failed: every code the pipeline sets, each with the message a user reads (stored in
 * `error_message` and shown by the API). The single list: code elsewhere names a code and lets
 * `taskError` write its message. The column itself only checks the snake_case shape, so adding a
 * code here needs no migration.
 */
const TASK_ERRORS = {
  // Intake (and the worker's re-check before OCR)
  unsupported_type: (found?: { actual: string; declared: string }) =>
    found
      ? `The file's content is ${found.actual}, not the ${found.declared} it was declared as.`
      : 'The file is not a PDF, PNG, JPEG, TIFF or WebP document.',
  size_mismatch: (sizes: { actual: number; declared: number }) =>
    `The uploaded file has ${sizes.actual} bytes, not the ${sizes.declared} declared when the upload was created.`,
  checksum_mismatch: () => "The uploaded file's SHA-256 checksum differs from the one declared when the upload was created.",
  too_many_pages: (pages: { count: number | string; max: number }) =>
    `The document has ${pages.count} pages; at most ${pages.max} are accepted.`,
  image_too_large: (pixels: { actual: number; max: number }) =>
    `The image is ${megapixels(pixels.actual)} megapixels; at most ${megapixels(pixels.max)} are accepted.`,
  encrypted_document: () => 'The PDF is password-protected; upload it without the password.',
  corrupt_document: (what: 'document' | 'PDF' | 'image' | 'TIFF image' = 'document') =>
    `The ${what} is damaged and cannot be read.`,
  quota_exceeded: (pages: { count: number; left: number; max: number }) =>
    `The document has ${pages.count} pages, but only ${pages.left} of your daily limit of ${pages.max} pages are left. Try again after midnight UTC or upload a shorter document.`,
  // Sweeper
  upload_expired: () => 'No file was uploaded before the upload link expired. Create a new task to try again.',
  // Worker and the jobs dead-letter consumer
  upload_missing: () => 'The uploaded document is no longer available.',
  processing_error: () => 'The document could not be processed: the last attempt failed as well.',
  ocr_failed: (where: { page: number }) =>
    `Page ${where.page} could not be read: the OCR engine failed it on every attempt, and no other source was available.`,
  attempts_exhausted: () => 'The document could not be processed after several attempts.',
  processing_failed: () => 'The document could not be processed: processing stopped unexpectedly several times.',
} as const satisfies Record<string, (...args: never[]) => string>;

function megapixels(n: number): string {
  return `${Math.round(n / 1e5) / 10}`;
}

export type TaskErrorCode = keyof typeof TASK_ERRORS;

export const TASK_ERROR_CODES = Object.keys(TASK_ERRORS) as readonly TaskErrorCode[];

export function isTaskErrorCode(value: unknown): value is TaskErrorCode {
  return typeof value === 'string' && Object.hasOwn(TASK_ERRORS, value);
}

export interface TaskError<C extends TaskErrorCode = TaskErrorCode> {
  code: C;
  message: string;
}

/** A failure code with its user-facing message: `taskError('too_many_pages', {count: 4000, max: 3000})`. */
export function taskError<C extends TaskErrorCode>(code: C, ...details: Parameters<(typeof TASK_ERRORS)[C]>): TaskError<C> {
  const message = (TASK_ERRORS[code] as (...args: Parameters<(typeof TASK_ERRORS)[C]>) => string)(...details);
  return { code, message };
}

/** The roles the users table allows (its CHECK constraint); every schema takes them from here. */
export const USER_ROLES = ['user', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface UserRecord {
  id: string;
  email: string;
  passwordHash: string;
  role: UserRole;
  /** Only admins enrol; the caller stores it encrypted if it wants envelope encryption. */
  totpSecret: string | null;
  disabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SessionRecord {
  id: string;
  userId: string;
  /** Every token descending from one login shares a family; reuse of a rotated token revokes it. */
  familyId: string;
  tokenHash: string;
  parentId: string | null;
  createdAt: Date;
  expiresAt: Date;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

export interface FileRecord {
  id: string;
  ownerId: string;
  /** Null once the task is deleted: a file name can itself be protected health information. */
  originalName: string | null;
  contentType: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
  s3Key: string;
  createdAt: Date;
}

export interface TaskRecord {
  id: string;
  ownerId: string;
  fileId: string;
  status: TaskStatus;
  errorCode: string | null;
  errorMessage: string | null;
  pageCount: number | null;
  pagesDone: number;
  attempts: number;
  maxAttempts: number;
  leaseUntil: Date | null;
  /** Fencing token of the current claim; null when nobody holds the task. */
  leaseToken: string | null;
  /** `results/{userId}/{yyyy-mm}/{taskId}/`: fixed at creation so every attempt writes beside the last. */
  resultsPrefix: string;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface ResultRecord {
  id: string;
  taskId: string;
  htmlKey: string;
  textKey: string;
  jsonKey: string;
  /** Null once the task is deleted. */
  text: string | null;
  /** 0..1, mean over pages. */
  confidence: number | null;
  wordCount: number;
  pageCount: number;
  processingMs: number;
  model: string;
  createdAt: Date;
}

export interface TaskHistoryRecord {
  /** The event `seq`: increases with every transition, across all tasks. */
  id: number;
  taskId: string;
  fromStatus: TaskStatus | null;
  toStatus: TaskStatus;
  errorCode: string | null;
  at: Date;
}
