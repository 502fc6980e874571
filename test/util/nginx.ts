import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A free TCP port on loopback (asked of the kernel, then given back: nginx cannot listen on port 0). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real nginx (Debian's, with its WebDAV module) serving `<dir>/store` on
 * loopback: GET, HEAD and PUT, as a team's task cache server would. With a
 * token, every request without `Authorization: Bearer <token>` gets 401.
 */
export class Nginx {
  private child: ChildProcess | undefined;
  readonly store: string;
  url = '';

  constructor(
    private readonly dir: string,
    private readonly token?: string,
  ) {
    this.store = join(dir, 'store');
  }

  async start(): Promise<void> {
    const port = await freePort();
    for (const d of ['store', 'tmp', 'logs']) mkdirSync(join(this.dir, d), { recursive: true });
    const temp = (name: string) => `${name}_temp_path ${join(this.dir, 'tmp', name)};`;
    const auth = this.token ? `if ($http_authorization != "Bearer ${this.token}") { return 401; }` : '';
    writeFileSync(
      join(this.dir, 'nginx.conf'),
      `${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 1;
pid ${join(this.dir, 'nginx.pid')};
error_log ${join(this.dir, 'logs', 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log ${join(this.dir, 'logs', 'access.log')};
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    root ${this.store};
    location / {
      ${auth}
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`,
    );
    const child = spawn('nginx', ['-p', this.dir, '-c', join(this.dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.url = `http://127.0.0.1:${port}/cache`;
    // Up when it answers.
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' }).then(
        () => true,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nginx did not answer: ${stderr}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
}
