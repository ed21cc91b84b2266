import { UPLOAD_TYPES } from '../../src/api/tasks/schemas';
import { CliError, EXIT } from '../../cli/exit-codes';
import { CONTENT_TYPES, contentTypeOf, outputNames } from '../../cli/ocr';

describe('ocr file handling', () => {
  it('knows exactly the extensions the service accepts, with the same types', () => {
    // Prepare
    const service = Object.entries(UPLOAD_TYPES).flatMap(([type, extensions]) => extensions.map((e) => [e, type] as const));

    // Assess
    expect(Object.entries(CONTENT_TYPES).sort()).toEqual([...service].sort());
  });

  it('takes the type from the extension, whatever its case', () => {
    // Assess
    expect(contentTypeOf('scans/Report.PDF')).toBe('application/pdf');
    expect(contentTypeOf('a.jpeg')).toBe('image/jpeg');
  });

  it('refuses a file whose extension names no supported type with the usage exit code', () => {
    // Act
    const error = (() => {
      try {
        contentTypeOf('notes.docx');
      } catch (e) {
        return e as CliError;
      }
      throw new Error('accepted');
    })();

    // Assess
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain('.pdf');
  });

  it('names results <name>.<ext>, keeping the whole file name where two inputs would collide', () => {
    // Assess
    expect(outputNames(['a/invoice.pdf', 'b/scan.png'], 'text')).toEqual(['invoice.txt', 'scan.txt']);
    expect(outputNames(['x.pdf', 'x.png'], 'html')).toEqual(['x.pdf.html', 'x.png.html']);
    expect(outputNames(['a/x.pdf', 'b/x.pdf'], 'json')).toEqual(['x.pdf.json', 'x.pdf-2.json']);
  });
});
