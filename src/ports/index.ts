export * from './clock';
export * from './event-bus';
export * from './job-queue';
export * from './object-store';
