export interface NginxOrigin {
  readonly url: string;
  accessLog(): Promise<{ status: number; bytes: number; range: string | null; path: string }[]>;
  close(): Promise<void>;
}
export function findNginx(): string | null;
export function startNginx(root: string, options?: { rateLimit?: string }): Promise<NginxOrigin>;
