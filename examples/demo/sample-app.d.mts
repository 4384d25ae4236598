export function writeSampleApp(
  dir: string,
  options: { version: string; selfTest?: 'pass' | 'fail'; payloadBytes?: number; seed?: string; edit?: string | undefined; insertBytes?: number | undefined },
): Promise<void>;
