export const serverBundle: string;
export function staleReason(): string | undefined;
export function buildServer(options?: { force?: boolean }): Promise<string>;
