// Replaced by the data-layer test harness (throwaway PostgreSQL server + PGlite template).
export default async function globalSetup(): Promise<void> {}
