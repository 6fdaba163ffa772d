// redis-server and postgres need their port on the command line (they cannot bind port 0), so
// their harnesses pick a free port first; when another process takes it before the server
// listens (the race seen in CI), the server's log says so and it is started again on another.
import { freePort } from './testConfig.ts';

/**
 * Runs `launch` until it starts, at most 3 times; after a failure whose `log` (cleared before each
 * try) names a taken address, `usePort` gets a new free port for the next try. Other failures throw.
 */
export async function launchRetryingTakenPort(launch: () => Promise<void>, log: string[], usePort: (port: number) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    log.length = 0;
    try {
      await launch();
      return;
    } catch (error) {
      if (attempt === 3 || !log.some((line) => line.includes('Address already in use'))) throw error;
      usePort(await freePort());
    }
  }
}
