export const DOC_PATH: string;
export function renderErrorCodes(codes: Readonly<Record<string, string>>): string;
export function loadErrorCodes(): Promise<Readonly<Record<string, string>>>;
