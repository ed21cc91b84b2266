export declare const CHROMIUM: string;
export declare function findPostgresBinDir(): string | undefined;
export declare function unmetRequirements(): Array<{ files: string; reason: string }>;
