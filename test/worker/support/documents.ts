import { PDFDocument, StandardFonts } from 'pdf-lib';
import { scanPage, scannedPdf } from '../../pipeline/support/documents';

/**
 * A scanned page (its text only in the pixels) whose PDF text layer holds nothing but a small
 * "CONFIDENTIAL" stamp in the corner, as a fax or a Bates-stamped scan has.
 */
export async function stampedScanPdf(lines: string[]): Promise<Uint8Array> {
  const doc = await PDFDocument.load(await scannedPdf([await scanPage({ lines })]));
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.getPage(0).drawText('CONFIDENTIAL', { x: 480, y: 820, size: 8, font });
  return doc.save();
}
