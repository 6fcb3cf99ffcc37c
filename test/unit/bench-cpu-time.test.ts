import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { startCpuCount } from '../../bench/cpu-time';

// The bench charges each step with the CPU of the app, of PostgreSQL (a server process and its children)
// and of the remote. Here a shell stands in for PostgreSQL's server process, with a busy Node child for a
// backend, and a busy Node process for the remote. Each burns a set amount of its own CPU time, however
// busy the machine is, then waits, alive, so its time can still be read.
const burnSource = (ms: number) =>
  `console.log('ready'); process.stdin.once('data', () => { const start = process.cpuUsage(); ` +
  `const used = () => { const u = process.cpuUsage(start); return (u.user + u.system) / 1000; }; ` +
  `while (used() < ${ms}) {} console.log('done'); });`;

function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

interface Burner {
  pid: number;
  /** Starts the burn and resolves once it is done. */
  burn(): Promise<void>;
}

const children: ChildProcess[] = [];

async function startBurner(command: string, args: string[]): Promise<Burner> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (expected: string) => {
    const { value } = await lines.next();
    expect(value).toBe(expected);
  };
  await nextLine('ready');
  return {
    pid: child.pid!,
    burn: async () => {
      child.stdin!.write('go\n');
      await nextLine('done');
    },
  };
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

describe.runIf(existsSync('/proc/self/stat'))('the bench counting CPU time (startCpuCount)', () => {
  it("charges each party with its own CPU time, and a server with its children's", async () => {
    // `exec` would replace the shell: the shell must stay the parent, as a postmaster does.
    const server = await startBurner('sh', ['-c', `"${process.execPath}" -e "${burnSource(400)}"; true`]);
    const remote = await startBurner(process.execPath, ['-e', burnSource(200)]);
    const cpuSince = startCpuCount({ postmasterPid: server.pid, remotePid: remote.pid });
    await Promise.all([server.burn(), remote.burn()]);
    burnCpu(100);
    const cpu = cpuSince()!;

    // /proc counts in ticks of 10 ms, each end of the count a tick or so off; above, the burn's own edges.
    expect(cpu.postgres).toBeGreaterThanOrEqual(370);
    expect(cpu.postgres).toBeLessThan(600);
    expect(cpu.remote).toBeGreaterThanOrEqual(170);
    expect(cpu.remote).toBeLessThan(370);
    expect(cpu.app).toBeGreaterThanOrEqual(100);
  });

  it('charges nothing to a party that did no work during the count', async () => {
    const idle = await startBurner(process.execPath, ['-e', burnSource(0)]);
    const cpuSince = startCpuCount({ postmasterPid: idle.pid, remotePid: idle.pid });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cpu = cpuSince()!;
    expect(cpu.postgres).toBeLessThanOrEqual(10);
    expect(cpu.remote).toBeLessThanOrEqual(10);
  });
});
