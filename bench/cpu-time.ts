/**
 * CPU time of the processes that take part in a measured step: the app's own process, the PostgreSQL
 * server (its postmaster and every backend) and the remote server. On a two-core machine these three
 * share the cores, so their sum against the wall time says whether a step waits on the machine or on
 * itself. Read from /proc (Linux); elsewhere the figures are absent.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Whose CPU a step is charged with, by process id. */
export interface CpuParties {
  postmasterPid: number;
  remotePid: number;
}

/** Milliseconds of CPU (user + system) each party used during a step. */
export interface CpuTimes {
  app: number;
  postgres: number;
  remote: number;
}

// The kernel reports process times in USER_HZ ticks, which Linux fixes at 100 a second for user space.
const MS_PER_TICK = 10;

interface ProcStat {
  parentPid: number;
  cpuMs: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces; the fields after it are plain.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { parentPid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK };
}

/** The PostgreSQL server's processes: the postmaster and its children (backends, writers, checkpointer). */
function postgresCpuMs(postmasterPid: number): number {
  let total = readStat(postmasterPid)?.cpuMs ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.parentPid === postmasterPid) total += stat.cpuMs;
  }
  return total;
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/**
 * Starts counting; the returned function gives each party's CPU time since. A backend that exits during
 * the step takes its time with it, which the bench's steps avoid by keeping their connections to the end.
 */
export function startCpuCount(parties: CpuParties): () => CpuTimes | null {
  if (!hasProc) return () => null;
  const appStart = process.cpuUsage();
  const postgresStart = postgresCpuMs(parties.postmasterPid);
  const remoteStart = readStat(parties.remotePid)?.cpuMs ?? 0;
  return () => {
    const app = process.cpuUsage(appStart);
    return {
      app: Math.round((app.user + app.system) / 1000),
      postgres: postgresCpuMs(parties.postmasterPid) - postgresStart,
      remote: (readStat(parties.remotePid)?.cpuMs ?? 0) - remoteStart,
    };
  };
}
