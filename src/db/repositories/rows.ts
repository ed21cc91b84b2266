/**
 * Row shapes as both adapters return them (snake_case; bigint already a number, timestamptz a Date)
 * and their mapping to the camelCase records. One place, so a new column is added once.
 */
import type {
  FileRecord,
  ResultRecord,
  SessionRecord,
  TaskHistoryRecord,
  TaskRecord,
  TaskStatus,
  UserRecord,
  UserRole,
} from '../../domain/task';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  role: UserRole;
  totp_secret: string | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const mapUser = (r: UserRow): UserRecord => ({
  id: r.id,
  email: r.email,
  passwordHash: r.password_hash,
  role: r.role,
  totpSecret: r.totp_secret,
  disabledAt: r.disabled_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface SessionRow {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  parent_id: string | null;
  created_at: Date;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export const mapSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  userId: r.user_id,
  familyId: r.family_id,
  tokenHash: r.token_hash,
  parentId: r.parent_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  rotatedAt: r.rotated_at,
  revokedAt: r.revoked_at,
});

export interface TaskRow {
  id: string;
  owner_id: string;
  file_id: string;
  status: TaskStatus;
  error_code: string | null;
  error_message: string | null;
  page_count: number | null;
  pages_done: number;
  attempts: number;
  max_attempts: number;
  lease_until: Date | null;
  lease_token: string | null;
  results_prefix: string;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** Task columns, qualified by `alias`, for SELECTs that join other tables. */
export const taskColumns = (alias: string): string =>
  [
    'id', 'owner_id', 'file_id', 'status', 'error_code', 'error_message', 'page_count', 'pages_done',
    'attempts', 'max_attempts', 'lease_until', 'lease_token', 'results_prefix', 'created_at',
    'updated_at', 'deleted_at',
  ]
    .map((c) => `${alias}.${c}`)
    .join(', ');

export const mapTask = (r: TaskRow): TaskRecord => ({
  id: r.id,
  ownerId: r.owner_id,
  fileId: r.file_id,
  status: r.status,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  pageCount: r.page_count,
  pagesDone: r.pages_done,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  leaseUntil: r.lease_until,
  leaseToken: r.lease_token,
  resultsPrefix: r.results_prefix,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deletedAt: r.deleted_at,
});

/** File columns aliased `file_*` so they can sit beside a task row. */
export const FILE_COLUMNS_PREFIXED = (alias: string): string =>
  ['id', 'owner_id', 'original_name', 'content_type', 'size', 'sha256', 's3_key', 'created_at']
    .map((c) => `${alias}.${c} AS file_${c}`)
    .join(', ');

export interface PrefixedFileRow {
  file_id: string;
  file_owner_id: string;
  file_original_name: string | null;
  file_content_type: string;
  file_size: number;
  file_sha256: string;
  file_s3_key: string;
  file_created_at: Date;
}

export const mapPrefixedFile = (r: PrefixedFileRow): FileRecord => ({
  id: r.file_id,
  ownerId: r.file_owner_id,
  originalName: r.file_original_name,
  contentType: r.file_content_type,
  size: r.file_size,
  sha256: r.file_sha256,
  s3Key: r.file_s3_key,
  createdAt: r.file_created_at,
});

export interface ResultRow {
  id: string;
  task_id: string;
  html_key: string;
  text_key: string;
  json_key: string;
  text: string | null;
  confidence: number | null;
  word_count: number;
  page_count: number;
  processing_ms: number;
  model: string;
  created_at: Date;
}

export const mapResult = (r: ResultRow): ResultRecord => ({
  id: r.id,
  taskId: r.task_id,
  htmlKey: r.html_key,
  textKey: r.text_key,
  jsonKey: r.json_key,
  text: r.text,
  confidence: r.confidence,
  wordCount: r.word_count,
  pageCount: r.page_count,
  processingMs: r.processing_ms,
  model: r.model,
  createdAt: r.created_at,
});

export interface TaskHistoryRow {
  id: number;
  task_id: string;
  from_status: TaskStatus | null;
  to_status: TaskStatus;
  error_code: string | null;
  at: Date;
}

export const mapHistory = (r: TaskHistoryRow): TaskHistoryRecord => ({
  id: r.id,
  taskId: r.task_id,
  fromStatus: r.from_status,
  toStatus: r.to_status,
  errorCode: r.error_code,
  at: r.at,
});
