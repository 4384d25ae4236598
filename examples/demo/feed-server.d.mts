export interface FeedServer {
  readonly url: string;
  readonly requests: { method: string; path: string; range: string | null; status: number; bytes: number }[];
  close(): Promise<void>;
}
export function serveFeed(dir: string, options?: { log?: (line: string) => void }): Promise<FeedServer>;
