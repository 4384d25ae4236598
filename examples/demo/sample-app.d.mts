export function writeSampleApp(
  dir: string,
  options: { version: string; selfTest?: 'pass' | 'fail'; payloadBytes?: number; seed?: string },
): Promise<void>;
