import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { expect } from 'vitest';
import { TEST_ADMIN, TEST_LANGUAGE } from '../support/app';
import { csrfFrom } from '../support/browser-session';

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

/** Resolves once the app prints the address it listens on; rejects if it exits first. */
async function listening(started: ReturnType<typeof spawnApp>): Promise<AppProcess> {
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

/** Starts the app and resolves once it prints the address it listens on; rejects if it exits first. */
export async function startAppProcess(env: Record<string, string>): Promise<AppProcess> {
  return listening(spawnApp({ PORT: '0', HOST: '127.0.0.1', ...env }));
}

export interface ServiceProcess extends AppProcess {
  /** Sends the signal to every process of the service's group (npm, its shell, the loader, the app), as systemd does. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Resolves once no process of the group is left running (zombies aside). */
  gone(): Promise<void>;
}

/** The live (not zombie) processes of a process group, read from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp …: comm may hold spaces, so read after its closing parenthesis.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

/**
 * `npm start` exactly as the README and a service unit run it, in a process group of its own: a signal to
 * the group reaches npm, its shell, tsx and the app, as systemd's stop does (KillMode=control-group).
 */
export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: '0',
      HOST: '127.0.0.1',
      npm_config_update_notifier: 'false',
      ...TEST_LANGUAGE,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const pgid = child.pid!;
  const app = await listening({ child, output: () => output, exited });
  return {
    ...app,
    signalGroup: (signal) => process.kill(-pgid, signal),
    async gone() {
      for (let attempt = 0; attempt < 3000; attempt += 1) {
        if (groupMembers(pgid).length === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`processes ${groupMembers(pgid).join(', ')} of the service are still running`);
    },
  };
}

/** Signs the test admin in to an app process over HTTP, as a browser would; returns its session cookie. */
export async function signInTo(url: string): Promise<string> {
  const page = await request(url).get('/login');
  const cookie = ([] as string[]).concat(page.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
  const response = await request(url)
    .post('/login')
    .set('Cookie', cookie)
    .type('form')
    .send({ ...TEST_ADMIN, _csrf: csrfFrom(page.text) });
  expect(response.status).toBe(303);
  return ([] as string[])
    .concat(response.headers['set-cookie'] ?? [])
    .find((c) => c.startsWith('sinkron.sid='))!
    .split(';')[0]!;
}
