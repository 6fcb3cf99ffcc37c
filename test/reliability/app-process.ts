import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TEST_LANGUAGE } from '../support/app';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface AppProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` as a real child process (tsx), with only the given environment (nothing inherited but PATH). */
export function spawnApp(env: Record<string, string>): { child: ChildProcess; output(): string; exited: AppProcess['exited'] } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...TEST_LANGUAGE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** Starts the app and resolves once it prints the address it listens on; rejects if it exits first. */
export async function startAppProcess(env: Record<string, string>): Promise<AppProcess> {
  const started = spawnApp({ PORT: '0', HOST: '127.0.0.1', ...env });
  const url = await new Promise<string>((resolve, reject) => {
    const look = () => {
      const match = /Sinkron is running at (http:\/\/[\d.]+:\d+)/.exec(started.output());
      if (match) {
        started.child.stdout!.off('data', look);
        resolve(match[1]!);
      }
    };
    started.child.stdout!.on('data', look);
    void started.exited.then(({ code, signal }) => reject(new Error(`the app exited (${code ?? signal}) before listening:\n${started.output()}`)));
  });
  return { ...started, url };
}
