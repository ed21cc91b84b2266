import { isTaskErrorCode, TASK_ERROR_CODES, taskError } from '../../src/domain/task';

describe('task error codes', () => {
  it('lists every code the pipeline sets, each in the shape the error_code column accepts', () => {
    // Prepare
    const used = [
      'unsupported_type',
      'size_mismatch',
      'checksum_mismatch',
      'too_many_pages',
      'image_too_large',
      'encrypted_document',
      'corrupt_document',
      'quota_exceeded',
      'upload_expired',
      'upload_missing',
      'processing_error',
      'ocr_failed',
      'attempts_exhausted',
      'processing_failed',
    ];

    // Act
    const unknown = used.filter((code) => !isTaskErrorCode(code));

    // Assess
    expect(unknown).toEqual([]);
    for (const code of TASK_ERROR_CODES) expect(code).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
    expect(isTaskErrorCode('encrypted_pdf')).toBe(false);
  });

  it('gives every code a sentence a user can read, within the column limit', () => {
    // Act
    const messages = [
      taskError('unsupported_type'),
      taskError('unsupported_type', { actual: 'a PNG image', declared: 'a PDF' }),
      taskError('size_mismatch', { actual: 10, declared: 12 }),
      taskError('checksum_mismatch'),
      taskError('too_many_pages', { count: 4001, max: 3000 }),
      taskError('image_too_large', { actual: 200_000_000, max: 150_000_000 }),
      taskError('encrypted_document'),
      taskError('corrupt_document'),
      taskError('corrupt_document', 'TIFF image'),
      taskError('quota_exceeded', { count: 3000, left: 120, max: 10_000 }),
      taskError('upload_expired'),
      taskError('upload_missing'),
      taskError('processing_error'),
      taskError('ocr_failed', { page: 3 }),
      taskError('attempts_exhausted'),
      taskError('processing_failed'),
    ];

    // Assess
    expect(new Set(messages.map((m) => m.code))).toEqual(new Set(TASK_ERROR_CODES));
    for (const { message } of messages) {
      expect(message).toMatch(/^[A-Z].*\.$/);
      expect(message.length).toBeLessThanOrEqual(2000);
    }
    expect(taskError('image_too_large', { actual: 200_000_000, max: 150_000_000 }).message).toBe(
      'The image is 200 megapixels; at most 150 are accepted.',
    );
  });
});
