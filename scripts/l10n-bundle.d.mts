export function extractMessages(dir?: string): string[];
export function bundleText(messages: string[]): string;
