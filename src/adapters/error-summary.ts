/** What may be logged about an error: its kind and message, never the objects it carries (requests, bodies, keys). */
export function errorSummary(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Unknown', message: String(error) };
}
