import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CliIo, type Command, processIo, UsageError } from './command.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Every file in src/cli/commands exports one `command`; the order here is the order in --help. */
const ORDER = ['run', 'decode', 'flit', 'waves', 'bench'];

export async function loadCommands(): Promise<Command[]> {
  const dir = join(here, 'commands');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const cmds: Command[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { command?: Command };
    if (mod.command) cmds.push(mod.command);
  }
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return cmds.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function topUsage(cmds: Command[]): string {
  const w = Math.max(...cmds.map((c) => c.name.length), 4);
  return [
    'cxlfab: cycle-accurate model of a CXL.mem fabric (VMs using memory on other nodes)',
    '',
    'usage: cxlfab <command> [options]',
    '',
    'commands:',
    ...cmds.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    "Run 'cxlfab <command> --help' for a command's options.",
    '',
  ].join('\n');
}

/** Entry point shared by bin/cxlfab.mjs and the tests. Returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const cmds = await loadCommands();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(topUsage(cmds));
    return name === undefined ? 2 : 0;
  }
  const cmd = cmds.find((c) => c.name === name);
  if (!cmd) {
    io.err(`cxlfab: unknown command '${name}'\n\n${topUsage(cmds)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.usage.endsWith('\n') ? cmd.usage : `${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`cxlfab ${cmd.name}: ${e.message}\n\n${cmd.usage}\n`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
