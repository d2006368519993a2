// Deterministic crash points for the kill -9 test: counts the child's file operations that
// change the index folder (opens for writing, writes, fsyncs, renames, removals) and SIGKILLs
// the process right before the K-th one, or, "torn", after writing only half of its data.
//
// Timer-based kills alone almost never land inside a save (on this machine the whole save of a
// small index takes well under a millisecond), so a save that is not atomic would pass; this
// walks the save step by step through the fs module the engine calls, without touching the
// engine. Operations through FileHandle objects (fs.promises.open) are not seen individually.
import fs from 'node:fs';
import path from 'node:path';

export interface CrashPlan {
  /** Die before this operation (1-based); undefined: only count. */
  at?: number;
  /** For a write: write half of its data first, then die. */
  torn?: boolean;
}

/** Installs the hooks; returns a function giving the number of operations seen so far. */
export function instrumentIndexWrites(indexDir: string, plan: CrashPlan): () => number {
  const dir = path.resolve(indexDir);
  const inDir = (p: unknown): boolean => {
    const s = typeof p === 'string' ? p : p instanceof URL ? p.pathname : Buffer.isBuffer(p) ? p.toString() : undefined;
    if (s === undefined) return false;
    const abs = path.resolve(s);
    return abs === dir || abs.startsWith(dir + path.sep);
  };
  const writing = (flags: unknown): boolean =>
    typeof flags === 'string' ? /[wa+]/.test(flags) : typeof flags === 'number' ? (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) !== 0 : false;
  const fds = new Set<number>();
  let n = 0;
  const die = (): never => {
    process.kill(process.pid, 'SIGKILL');
    for (;;) {
      // SIGKILL is on its way; run nothing else meanwhile.
    }
  };
  const step = (half?: () => void): void => {
    n++;
    if (plan.at !== undefined && n === plan.at) {
      if (plan.torn && half) half();
      die();
    }
  };
  /** Half of a write's data, for torn writes: (data, offset?, length?) as fs.write* take them. */
  const halfOf = (data: unknown, a?: unknown, b?: unknown): Buffer | string | undefined => {
    if (typeof data === 'string') return data.slice(0, Math.floor(data.length / 2));
    if (ArrayBuffer.isView(data)) {
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const off = typeof a === 'number' ? a : 0;
      const len = typeof b === 'number' ? b : buf.length - off;
      return buf.subarray(off, off + Math.floor(len / 2));
    }
    return undefined;
  };
  const f = fs as unknown as Record<string, (...args: any[]) => any>;
  const wrap = (name: string, make: (orig: (...args: any[]) => any) => (...args: any[]) => any): void => {
    const orig = f[name];
    if (typeof orig === 'function') f[name] = make(orig.bind(fs));
  };

  wrap('openSync', (orig) => (p, flags, ...rest) => {
    const hit = inDir(p) && writing(flags ?? 'r');
    if (hit) step();
    const fd = orig(p, flags, ...rest);
    if (hit) fds.add(fd);
    return fd;
  });
  wrap('open', (orig) => (p, flags, ...rest) => {
    const cb = rest.pop();
    const hit = inDir(p) && writing(typeof flags === 'function' ? 'r' : flags ?? 'r');
    if (typeof flags === 'function') return orig(p, flags, ...rest, cb);
    if (hit) step();
    return orig(p, flags, ...rest, (err: Error | null, fd: number) => {
      if (!err && hit) fds.add(fd);
      cb(err, fd);
    });
  });
  for (const name of ['closeSync', 'close']) {
    wrap(name, (orig) => (fd, ...rest) => {
      fds.delete(fd);
      return orig(fd, ...rest);
    });
  }
  wrap('writeSync', (orig) => (fd, data, a, b, ...rest) => {
    if (fds.has(fd)) step(() => { const h = halfOf(data, a, b); if (h !== undefined) orig(fd, h); });
    return orig(fd, data, a, b, ...rest);
  });
  wrap('write', (orig) => (fd, data, ...rest) => {
    if (fds.has(fd)) step(() => { const h = halfOf(data, rest[0], rest[1]); if (h !== undefined) f.writeSync(fd, h); });
    return orig(fd, data, ...rest);
  });
  for (const name of ['fsyncSync', 'fsync', 'fdatasyncSync', 'fdatasync']) {
    wrap(name, (orig) => (fd, ...rest) => {
      if (fds.has(fd)) step();
      return orig(fd, ...rest);
    });
  }
  wrap('writeFileSync', (orig) => (p, data, ...rest) => {
    if (inDir(p)) step(() => { const h = halfOf(data); if (h !== undefined) orig(p, h); });
    return orig(p, data, ...rest);
  });
  wrap('writeFile', (orig) => (p, data, ...rest) => {
    if (inDir(p)) step(() => { const h = halfOf(data); if (h !== undefined) fs.writeFileSync(p, h); });
    return orig(p, data, ...rest);
  });
  for (const name of ['renameSync', 'rename', 'copyFileSync', 'copyFile', 'linkSync', 'link']) {
    wrap(name, (orig) => (a, b, ...rest) => {
      if (inDir(a) || inDir(b)) step();
      return orig(a, b, ...rest);
    });
  }
  for (const name of ['rmSync', 'rm', 'unlinkSync', 'unlink', 'truncateSync', 'truncate']) {
    wrap(name, (orig) => (p, ...rest) => {
      if (inDir(p)) step();
      return orig(p, ...rest);
    });
  }
  const pr = fs.promises as unknown as Record<string, (...args: any[]) => any>;
  for (const name of ['writeFile', 'rename', 'rm', 'unlink', 'copyFile', 'truncate', 'open']) {
    const orig = pr[name];
    if (typeof orig !== 'function') continue;
    pr[name] = (p: unknown, ...rest: unknown[]) => {
      const hit = name === 'open' ? inDir(p) && writing(rest[0] ?? 'r') : inDir(p) || (name === 'rename' && inDir(rest[0]));
      if (hit) step(name === 'writeFile' ? () => { const h = halfOf(rest[0]); if (h !== undefined) fs.writeFileSync(p as string, h); } : undefined);
      return orig.call(fs.promises, p, ...rest);
    };
  }
  return () => n;
}
