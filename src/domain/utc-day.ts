/** Daily quotas count from 00:00 UTC: the API when a task is created, intake when its pages are counted. */
export function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}
